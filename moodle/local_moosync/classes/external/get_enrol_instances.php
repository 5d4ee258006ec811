<?php
// This file is part of Moodle - https://moodle.org/
//
// Moodle is free software: you can redistribute it and/or modify
// it under the terms of the GNU General Public License as published by
// the Free Software Foundation, either version 3 of the License, or
// (at your option) any later version.
//
// Moodle is distributed in the hope that it will be useful,
// but WITHOUT ANY WARRANTY; without even the implied warranty of
// MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
// GNU General Public License for more details.
//
// You should have received a copy of the GNU General Public License
// along with Moodle.  If not, see <https://www.gnu.org/licenses/>.

namespace local_moosync\external;

use external_function_parameters;
use external_multiple_structure;
use external_single_structure;
use external_value;
use local_moosync\local\batch_api;

/**
 * local_moosync_get_enrol_instances: the enrol instances of courses with the settings that tell
 * cohort and meta instances apart (customint1 is the cohort or the linked course).
 *
 * @package    local_moosync
 * @copyright  2026 moosync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class get_enrol_instances extends batch_api {

    /** @var string[] the integer enrol columns answered */
    const INT_FIELDS = ['id', 'courseid', 'status', 'sortorder', 'roleid', 'enrolstartdate', 'enrolenddate',
        'enrolperiod', 'customint1', 'customint2', 'customint3', 'customint4', 'timemodified'];

    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'courseids' => new external_multiple_structure(
                new external_value(PARAM_INT, 'A course'),
                'Courses to read'
            ),
            'enrol' => new external_value(PARAM_PLUGIN, 'Only instances of this method (cohort, meta...); all when empty',
                VALUE_DEFAULT, ''),
        ]);
    }

    /**
     * Reads the instances in one query.
     *
     * @param int[] $courseids
     * @param string $enrol
     * @return array
     */
    public static function execute(array $courseids, string $enrol = ''): array {
        global $DB;
        $params = self::validate_parameters(self::execute_parameters(), ['courseids' => $courseids, 'enrol' => $enrol]);
        $courses = self::load_courses($params['courseids']);
        self::require_in_courses(array_keys($courses), ['moodle/course:enrolreview']);

        $warnings = [];
        foreach ($params['courseids'] as $index => $courseid) {
            if (!isset($courses[$courseid])) {
                $warnings[] = self::warning($index, $courseid, 'coursenotfound', $courseid);
            }
        }
        $answer = [];
        if ($courses) {
            [$in, $inparams] = $DB->get_in_or_equal(array_keys($courses), SQL_PARAMS_NAMED, 'c');
            $where = "courseid $in";
            if ($params['enrol'] !== '') {
                $where .= ' AND enrol = :enrol';
                $inparams['enrol'] = $params['enrol'];
            }
            $columns = implode(', ', self::INT_FIELDS) . ', enrol, name, customchar1';
            foreach ($DB->get_records_select('enrol', $where, $inparams, 'courseid, sortorder, id', $columns) as $row) {
                $instance = [];
                foreach (self::INT_FIELDS as $name) {
                    $instance[$name] = (int)$row->$name;
                }
                $instance['enrol'] = $row->enrol;
                $instance['name'] = (string)$row->name;
                $instance['customchar1'] = (string)$row->customchar1;
                $answer[] = $instance;
            }
        }
        return ['instances' => $answer, 'warnings' => $warnings];
    }

    /**
     * Answer.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        $descriptions = [
            'id' => 'Instance id (enrol id)',
            'courseid' => 'Its course',
            'status' => '0 enabled, 1 disabled',
            'sortorder' => 'Position among the course\'s methods',
            'roleid' => 'Role it gives, 0 for none',
            'enrolstartdate' => 'Start date setting, 0 for none',
            'enrolenddate' => 'End date setting, 0 for none',
            'enrolperiod' => 'Enrolment duration setting in seconds, 0 for none',
            'customint1' => 'cohort: the cohort; meta: the linked course; other methods: their own setting',
            'customint2' => 'cohort and meta: the group members are put in, 0 for none',
            'customint3' => 'Method\'s own setting',
            'customint4' => 'Method\'s own setting',
            'timemodified' => 'Last change',
        ];
        $fields = [];
        foreach (self::INT_FIELDS as $name) {
            $fields[$name] = new external_value(PARAM_INT, $descriptions[$name]);
        }
        $fields['enrol'] = new external_value(PARAM_PLUGIN, 'Enrol method');
        $fields['name'] = new external_value(PARAM_RAW, 'Instance name, empty for the method\'s default');
        $fields['customchar1'] = new external_value(PARAM_RAW, 'Method\'s own setting');
        return new external_single_structure([
            'instances' => new external_multiple_structure(
                new external_single_structure($fields),
                'The instances, by course, then in the course\'s order'
            ),
            'warnings' => self::warnings_returns(),
        ]);
    }
}
