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
use invalid_parameter_exception;
use local_moosync\local\batch_api;

/**
 * local_moosync_get_cohorts: cohorts by id, idnumber or name, with their members.
 *
 * @package    local_moosync
 * @copyright  2026 moosync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class get_cohorts extends batch_api {

    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'field' => new external_value(PARAM_ALPHA, 'The field looked up: id, idnumber or name'),
            'values' => new external_multiple_structure(
                new external_value(PARAM_RAW, 'A value of the field, matched exactly'),
                'Values to look up'
            ),
            'withmembers' => new external_value(PARAM_BOOL, 'Answer each cohort\'s members too', VALUE_DEFAULT, true),
            'withinstances' => new external_value(PARAM_BOOL,
                'Answer the cohort sync instances bound to each cohort too', VALUE_DEFAULT, false),
        ]);
    }

    /**
     * Looks the cohorts up (one query), and reads their members and the cohort sync instances
     * bound to them (one query each) when asked.
     *
     * @param string $field
     * @param array $values
     * @param bool $withmembers
     * @param bool $withinstances
     * @return array
     */
    public static function execute(string $field, array $values, bool $withmembers = true,
            bool $withinstances = false): array {
        global $DB;
        $params = self::validate_parameters(self::execute_parameters(),
            ['field' => $field, 'values' => $values, 'withmembers' => $withmembers, 'withinstances' => $withinstances]);
        $field = $params['field'];
        if (!in_array($field, ['id', 'idnumber', 'name'], true)) {
            throw new invalid_parameter_exception('field must be id, idnumber or name, not ' . $field);
        }
        $warnings = [];
        $keys = [];
        foreach ($params['values'] as $index => $value) {
            if ($field === 'id' && !preg_match('/^[1-9][0-9]{0,17}$/', trim((string)$value))) {
                $warnings[] = self::warning($index, 0, 'invalidvalue', (object)['field' => $field, 'value' => $value]);
                continue;
            }
            if ($value !== '') {
                $keys[] = $field === 'id' ? (int)$value : $value;
            }
        }
        $cohorts = [];
        if ($keys) {
            [$in, $inparams] = $DB->get_in_or_equal(array_values(array_unique($keys)), SQL_PARAMS_NAMED, 'v');
            $cohorts = $DB->get_records_select('cohort', "$field $in", $inparams, 'id',
                'id, contextid, name, idnumber, description, visible, component');
        }
        $contexts = [];
        foreach ($cohorts as $cohort) {
            $contexts[$cohort->contextid] = \context::instance_by_id($cohort->contextid);
        }
        // As core_cohort_get_cohort_members: the cohort's own context.
        self::require_in_contexts($contexts, ['moodle/cohort:view']);

        $members = [];
        if ($cohorts && $params['withmembers']) {
            [$in, $inparams] = $DB->get_in_or_equal(array_keys($cohorts), SQL_PARAMS_NAMED, 'm');
            $rs = $DB->get_recordset_select('cohort_members', "cohortid $in", $inparams, 'cohortid, userid',
                'id, cohortid, userid');
            foreach ($rs as $row) {
                $members[$row->cohortid][] = (int)$row->userid;
            }
            $rs->close();
        }
        $instances = [];
        if ($cohorts && $params['withinstances']) {
            [$in, $inparams] = $DB->get_in_or_equal(array_keys($cohorts), SQL_PARAMS_NAMED, 'i');
            $rows = $DB->get_records_select('enrol', "enrol = 'cohort' AND customint1 $in", $inparams, 'id',
                'id, courseid, status, roleid, customint1, customint2, enrolstartdate, enrolenddate');
            $courseids = array_unique(array_map(fn($row) => (int)$row->courseid, $rows));
            // As local_moosync_get_enrol_instances: a course's methods are shown to who may review them.
            self::require_in_courses($courseids, ['moodle/course:enrolreview']);
            foreach ($rows as $row) {
                $instances[$row->customint1][] = [
                    'id' => (int)$row->id,
                    'courseid' => (int)$row->courseid,
                    'status' => (int)$row->status,
                    'roleid' => (int)$row->roleid,
                    'groupid' => (int)$row->customint2,
                    'enrolstartdate' => (int)$row->enrolstartdate,
                    'enrolenddate' => (int)$row->enrolenddate,
                ];
            }
        }
        $answer = [];
        foreach ($cohorts as $cohort) {
            $context = $contexts[$cohort->contextid];
            $answer[] = [
                'id' => (int)$cohort->id,
                'idnumber' => (string)$cohort->idnumber,
                'name' => $cohort->name,
                'description' => (string)$cohort->description,
                'contextid' => (int)$cohort->contextid,
                'categoryid' => $context->contextlevel == CONTEXT_COURSECAT ? (int)$context->instanceid : 0,
                'visible' => (int)$cohort->visible,
                'component' => (string)$cohort->component,
                'members' => $members[$cohort->id] ?? [],
                'instances' => $instances[$cohort->id] ?? [],
            ];
        }
        return ['cohorts' => $answer, 'warnings' => $warnings];
    }

    /**
     * Answer.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'cohorts' => new external_multiple_structure(
                new external_single_structure([
                    'id' => new external_value(PARAM_INT, 'Cohort id'),
                    'idnumber' => new external_value(PARAM_RAW, 'Cohort idnumber, as stored'),
                    'name' => new external_value(PARAM_RAW, 'Cohort name, as stored'),
                    'description' => new external_value(PARAM_RAW, 'Cohort description, as stored'),
                    'contextid' => new external_value(PARAM_INT, 'Context it lives in (system or a category)'),
                    'categoryid' => new external_value(PARAM_INT, 'The category it lives in, 0 for the system context'),
                    'visible' => new external_value(PARAM_INT, '1 visible, 0 hidden'),
                    'component' => new external_value(PARAM_COMPONENT, 'Component managing it, empty for none'),
                    'members' => new external_multiple_structure(
                        new external_value(PARAM_INT, 'A member'),
                        'Member user ids (empty when withmembers is false)'
                    ),
                    'instances' => new external_multiple_structure(
                        new external_single_structure([
                            'id' => new external_value(PARAM_INT, 'Instance id (enrol id)'),
                            'courseid' => new external_value(PARAM_INT, 'Its course'),
                            'status' => new external_value(PARAM_INT, '0 enabled, 1 disabled'),
                            'roleid' => new external_value(PARAM_INT, 'Role it gives, 0 for none'),
                            'groupid' => new external_value(PARAM_INT, 'Group it puts members in, 0 for none'),
                            'enrolstartdate' => new external_value(PARAM_INT, 'Start of its enrolments, 0 for none'),
                            'enrolenddate' => new external_value(PARAM_INT, 'End of its enrolments, 0 for none'),
                        ]),
                        'Cohort sync instances bound to it (empty when withinstances is false)'
                    ),
                ]),
                'The cohorts found, by id; a value matching none is simply absent'
            ),
            'warnings' => self::warnings_returns(),
        ]);
    }
}
