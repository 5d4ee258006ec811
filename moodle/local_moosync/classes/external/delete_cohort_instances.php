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
use local_moosync\local\item_failure;
use Throwable;

/**
 * local_moosync_delete_cohort_instances: removes cohort sync instances with their enrolments.
 *
 * @package    local_moosync
 * @copyright  2026 moosync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class delete_cohort_instances extends batch_api {

    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'instanceids' => new external_multiple_structure(
                new external_value(PARAM_INT, 'A cohort sync instance (enrol id)'),
                'Instances to delete'
            ),
        ]);
    }

    /**
     * Deletes each instance through enrol_cohort's delete_instance: its members are unenrolled,
     * their roles and group memberships from it go, events fire.
     *
     * @param int[] $instanceids
     * @return array
     */
    public static function execute(array $instanceids): array {
        global $DB;
        $params = self::validate_parameters(self::execute_parameters(), ['instanceids' => $instanceids]);
        $ids = $params['instanceids'];

        $found = [];
        $wanted = array_values(array_unique(array_filter($ids)));
        if ($wanted) {
            $found = $DB->get_records_list('enrol', 'id', $wanted);
        }
        $courseids = [];
        foreach ($found as $instance) {
            if ($instance->enrol === 'cohort') {
                $courseids[] = $instance->courseid;
            }
        }
        self::require_in_courses($courseids, ['moodle/course:enrolconfig', 'enrol/cohort:config']);
        $plugin = enrol_get_plugin('cohort');

        $results = [];
        $warnings = [];
        foreach ($ids as $index => $id) {
            try {
                $results[] = ['index' => $index] + self::in_transaction(function() use ($id, $found, $plugin) {
                    global $DB;
                    $instance = $found[$id] ?? null;
                    // An instance deleted by an earlier item of the call is gone too.
                    if (!$instance || $instance->enrol !== 'cohort' || !$DB->record_exists('enrol', ['id' => $id])) {
                        throw new item_failure('instancenotfound', $id);
                    }
                    $enrolled = $DB->count_records('user_enrolments', ['enrolid' => $instance->id]);
                    $plugin->delete_instance($instance);
                    return [
                        'instanceid' => (int)$instance->id,
                        'courseid' => (int)$instance->courseid,
                        'unenrolled' => $enrolled,
                    ];
                });
            } catch (Throwable $e) {
                $warnings[] = self::warning_from($index, $id, $e);
            }
        }
        return ['instances' => $results, 'warnings' => $warnings];
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
                    'index' => new external_value(PARAM_INT, 'Position of the instance id in the call'),
                    'instanceid' => new external_value(PARAM_INT, 'The instance deleted'),
                    'courseid' => new external_value(PARAM_INT, 'Its course'),
                    'unenrolled' => new external_value(PARAM_INT, 'Enrolments it held, now removed'),
                ]),
                'The items done'
            ),
            'warnings' => self::warnings_returns(),
        ]);
    }
}
