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
require_once($CFG->dirroot . '/enrol/cohort/lib.php');

/**
 * local_moosync_update_cohort_instances: changes the role, status, group, period or name of
 * cohort sync instances.
 *
 * @package    local_moosync
 * @copyright  2026 moosync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class update_cohort_instances extends batch_api {

    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'instances' => new external_multiple_structure(
                new external_single_structure([
                    'instanceid' => new external_value(PARAM_INT, 'The cohort sync instance (enrol id)'),
                    'roleid' => new external_value(PARAM_INT, 'New role, 0 for none', VALUE_OPTIONAL),
                    'status' => new external_value(PARAM_INT, 'New status: 0 enabled, 1 disabled', VALUE_OPTIONAL),
                    'groupid' => new external_value(PARAM_INT,
                        'New group: 0 none, -1 a new group named after the cohort', VALUE_OPTIONAL),
                    'enrolstartdate' => new external_value(PARAM_INT, 'New start of the enrolments, 0 for none',
                        VALUE_OPTIONAL),
                    'enrolenddate' => new external_value(PARAM_INT, 'New end of the enrolments, 0 for none',
                        VALUE_OPTIONAL),
                    'name' => new external_value(PARAM_TEXT, 'New name, empty for Moodle\'s default', VALUE_OPTIONAL),
                ]),
                'Instances to change; a setting left out stays as it is'
            ),
        ]);
    }

    /**
     * Changes each instance through enrol_cohort's update_instance (settings) and update_status
     * (status), which run the course's cohort sync; then gives the period to the enrolments.
     *
     * @param array $instances
     * @return array
     */
    public static function execute(array $instances): array {
        global $DB;
        $params = self::validate_parameters(self::execute_parameters(), ['instances' => $instances]);
        $items = $params['instances'];

        $found = [];
        $ids = array_values(array_unique(array_filter(array_column($items, 'instanceid'))));
        if ($ids) {
            $found = $DB->get_records_list('enrol', 'id', $ids);
        }
        $courseids = [];
        $makegroup = [];
        foreach ($items as $item) {
            $instance = $found[$item['instanceid']] ?? null;
            if ($instance && $instance->enrol === 'cohort') {
                $courseids[] = $instance->courseid;
                if (($item['groupid'] ?? null) === COHORT_CREATE_GROUP) {
                    $makegroup[] = $instance->courseid;
                }
            }
        }
        self::require_in_courses($courseids, ['moodle/course:enrolconfig', 'enrol/cohort:config']);
        self::require_in_courses($makegroup, ['moodle/course:managegroups']);
        $plugin = self::require_enrol_plugin('cohort');

        $rules = new cohort_instance();
        $results = [];
        $warnings = [];
        foreach ($items as $index => $item) {
            try {
                $results[] = ['index' => $index] + self::in_transaction(function() use ($item, $found, $plugin, $rules) {
                    return self::update_one($item, $found[$item['instanceid']] ?? null, $plugin, $rules);
                });
            } catch (Throwable $e) {
                $warnings[] = self::warning_from($index, $item['instanceid'], $e);
            }
        }
        return ['instances' => $results, 'warnings' => $warnings];
    }

    /**
     * One item.
     *
     * @param array $item
     * @param \stdClass|null $instance the enrol record the item names, if any
     * @param \enrol_plugin $plugin
     * @param cohort_instance $rules
     * @return array the item's answer
     */
    private static function update_one(array $item, ?\stdClass $instance, \enrol_plugin $plugin,
            cohort_instance $rules): array {
        global $DB;
        if (!$instance || $instance->enrol !== 'cohort') {
            throw new item_failure('instancenotfound', $item['instanceid']);
        }
        $context = \context_course::instance($instance->courseid);
        $want = [
            'roleid' => $item['roleid'] ?? (int)$instance->roleid,
            'customint2' => $item['groupid'] ?? (int)$instance->customint2,
            'enrolstartdate' => $item['enrolstartdate'] ?? (int)$instance->enrolstartdate,
            'enrolenddate' => $item['enrolenddate'] ?? (int)$instance->enrolenddate,
            'name' => $item['name'] ?? (string)$instance->name,
        ];
        $status = $item['status'] ?? (int)$instance->status;
        if ($want['roleid'] !== (int)$instance->roleid) {
            $rules->check_role($want['roleid'], $context);
            $clash = $DB->record_exists_select('enrol',
                "enrol = 'cohort' AND courseid = :courseid AND customint1 = :cohortid AND roleid = :roleid AND id <> :id",
                ['courseid' => $instance->courseid, 'cohortid' => $instance->customint1,
                    'roleid' => $want['roleid'], 'id' => $instance->id]);
            if ($clash) {
                throw new item_failure('instanceexists', $want['roleid']);
            }
        }
        cohort_instance::check_status($status);
        cohort_instance::check_period($want['enrolstartdate'], $want['enrolenddate']);
        if ($want['customint2'] !== (int)$instance->customint2) {
            cohort_instance::check_group($want['customint2'], (int)$instance->courseid);
        }

        $changed = [];
        foreach ($want as $field => $value) {
            if ((string)$value !== (string)$instance->$field) {
                $changed[] = $field === 'customint2' ? 'groupid' : $field;
            }
        }
        if ($changed) {
            $data = clone $instance;
            foreach ($want as $field => $value) {
                $data->$field = $value;
            }
            $plugin->update_instance($instance, $data);
            $instance = $DB->get_record('enrol', ['id' => $instance->id], '*', MUST_EXIST);
        }
        if ($status !== (int)$instance->status) {
            $changed[] = 'status';
            $plugin->update_status($instance, $status);
            $instance = $DB->get_record('enrol', ['id' => $instance->id], '*', MUST_EXIST);
        }
        $periodchanged = array_intersect($changed, ['enrolstartdate', 'enrolenddate']);
        $updated = $periodchanged ? cohort_instance::apply_period($instance) : 0;
        return [
            'instanceid' => (int)$instance->id,
            'courseid' => (int)$instance->courseid,
            'changed' => $changed,
            'status' => (int)$instance->status,
            'groupid' => (int)$instance->customint2,
            'enrolmentsupdated' => $updated,
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
                    'instanceid' => new external_value(PARAM_INT, 'The instance'),
                    'courseid' => new external_value(PARAM_INT, 'Its course'),
                    'changed' => new external_multiple_structure(
                        new external_value(PARAM_ALPHANUMEXT, 'A setting changed'),
                        'Settings changed (roleid, groupid, enrolstartdate, enrolenddate, name, status); empty when none'
                    ),
                    'status' => new external_value(PARAM_INT, 'Status now: 0 enabled, 1 disabled'),
                    'groupid' => new external_value(PARAM_INT, 'Group the members are put in now, 0 for none'),
                    'enrolmentsupdated' => new external_value(PARAM_INT, 'Enrolments given the new period'),
                ]),
                'The items done'
            ),
            'warnings' => self::warnings_returns(),
        ]);
    }
}
