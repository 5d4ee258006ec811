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
use local_moosync\local\cohort_instance;
use local_moosync\local\item_failure;
use Throwable;

defined('MOODLE_INTERNAL') || die();

global $CFG;
require_once($CFG->dirroot . '/cohort/lib.php');
require_once($CFG->dirroot . '/enrol/cohort/lib.php');

/**
 * local_moosync_add_cohort_instances: binds cohorts to courses with cohort sync instances.
 *
 * @package    local_moosync
 * @copyright  2026 moosync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class add_cohort_instances extends batch_api {

    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'instances' => new external_multiple_structure(
                new external_single_structure([
                    'courseid' => new external_value(PARAM_INT, 'Course the cohort is bound to'),
                    'cohortid' => new external_value(PARAM_INT, 'Cohort whose members are enrolled'),
                    'roleid' => new external_value(PARAM_INT, 'Role the members get in the course, 0 for none'),
                    'status' => new external_value(PARAM_INT, 'Instance status: 0 enabled, 1 disabled',
                        VALUE_DEFAULT, ENROL_INSTANCE_ENABLED),
                    'groupid' => new external_value(PARAM_INT,
                        'Group the members are put in: 0 none, -1 a new group named after the cohort',
                        VALUE_DEFAULT, 0),
                    'enrolstartdate' => new external_value(PARAM_INT,
                        'Start of the members\' enrolments (timestamp), 0 for none', VALUE_DEFAULT, 0),
                    'enrolenddate' => new external_value(PARAM_INT,
                        'End of the members\' enrolments (timestamp), 0 for none', VALUE_DEFAULT, 0),
                    'name' => new external_value(PARAM_TEXT, 'Instance name, empty for Moodle\'s default',
                        VALUE_DEFAULT, ''),
                ]),
                'Cohort sync instances to add'
            ),
        ]);
    }

    /**
     * Adds each instance unless the course already binds the cohort with that role, then runs
     * the course's cohort sync (Moodle's add_instance does) and gives the period.
     *
     * @param array $instances
     * @return array
     */
    public static function execute(array $instances): array {
        $params = self::validate_parameters(self::execute_parameters(), ['instances' => $instances]);
        $items = $params['instances'];

        $courses = self::load_courses(array_column($items, 'courseid'));
        self::require_in_courses(array_keys($courses), ['moodle/course:enrolconfig', 'enrol/cohort:config']);
        $makegroup = [];
        foreach ($items as $item) {
            if ($item['groupid'] === COHORT_CREATE_GROUP && isset($courses[$item['courseid']])) {
                $makegroup[] = $item['courseid'];
            }
        }
        self::require_in_courses($makegroup, ['moodle/course:managegroups']);
        $plugin = self::require_enrol_plugin('cohort');

        $rules = new cohort_instance();
        $results = [];
        $warnings = [];
        foreach ($items as $index => $item) {
            try {
                $results[] = ['index' => $index] + self::in_transaction(function() use ($item, $courses, $plugin, $rules) {
                    return self::add_one($item, $courses, $plugin, $rules);
                });
            } catch (Throwable $e) {
                $warnings[] = self::warning_from($index, $item['courseid'], $e);
            }
        }
        return ['instances' => $results, 'warnings' => $warnings];
    }

    /**
     * One item.
     *
     * @param array $item
     * @param \stdClass[] $courses
     * @param \enrol_plugin $plugin
     * @param cohort_instance $rules
     * @return array the item's answer
     */
    private static function add_one(array $item, array $courses, \enrol_plugin $plugin, cohort_instance $rules): array {
        global $DB;
        $course = $courses[$item['courseid']] ?? null;
        if (!$course) {
            throw new item_failure('coursenotfound', $item['courseid']);
        }
        if ((int)$course->id === (int)SITEID) {
            throw new item_failure('sitecourse', $course->id);
        }
        $context = \context_course::instance($course->id);
        $cohort = $DB->get_record('cohort', ['id' => $item['cohortid']], 'id, contextid, visible');
        if (!$cohort) {
            throw new item_failure('cohortnotfound', $item['cohortid']);
        }
        if (!cohort_can_view_cohort($cohort, $context)) {
            throw new item_failure('cohortnotavailable', (object)['cohort' => $cohort->id, 'course' => $course->id]);
        }
        $rules->check_role($item['roleid'], $context);
        cohort_instance::check_status($item['status']);
        cohort_instance::check_period($item['enrolstartdate'], $item['enrolenddate']);
        cohort_instance::check_group($item['groupid'], $course->id);

        $existing = $DB->get_records('enrol', ['enrol' => 'cohort', 'courseid' => $course->id,
            'customint1' => $cohort->id, 'roleid' => $item['roleid']], 'id');
        if ($existing) {
            $instance = reset($existing);
            return self::answer($instance, false);
        }
        $id = $plugin->add_instance($course, [
            'customint1' => $cohort->id,
            'roleid' => $item['roleid'],
            'customint2' => $item['groupid'],
            'status' => $item['status'],
            'enrolstartdate' => $item['enrolstartdate'],
            'enrolenddate' => $item['enrolenddate'],
            'name' => $item['name'],
        ]);
        $instance = $DB->get_record('enrol', ['id' => $id], '*', MUST_EXIST);
        cohort_instance::apply_period($instance);
        return self::answer($instance, true);
    }

    /**
     * The answer for an instance.
     *
     * @param \stdClass $instance
     * @param bool $created
     * @return array
     */
    private static function answer(\stdClass $instance, bool $created): array {
        return [
            'instanceid' => (int)$instance->id,
            'courseid' => (int)$instance->courseid,
            'created' => $created,
            'status' => (int)$instance->status,
            'groupid' => (int)$instance->customint2,
        ];
    }

    /**
     * Answer.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'instances' => new external_multiple_structure(
                new external_single_structure([
                    'index' => new external_value(PARAM_INT, 'Position of the item in the call'),
                    'instanceid' => new external_value(PARAM_INT, 'The cohort sync instance (enrol id)'),
                    'courseid' => new external_value(PARAM_INT, 'Its course'),
                    'created' => new external_value(PARAM_BOOL,
                        'True when made now; false when the course already bound the cohort with that role'
                        . ' (the instance is then left as it is)'),
                    'status' => new external_value(PARAM_INT, 'Instance status: 0 enabled, 1 disabled'),
                    'groupid' => new external_value(PARAM_INT, 'Group the members are put in, 0 for none'),
                ]),
                'The items done'
            ),
            'warnings' => self::warnings_returns(),
        ]);
    }
}
