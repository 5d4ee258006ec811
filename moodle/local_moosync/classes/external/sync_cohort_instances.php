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

/**
 * local_moosync_sync_cohort_instances: runs the cohort sync of courses now, instead of waiting
 * for the enrol_cohort scheduled task.
 *
 * @package    local_moosync
 * @copyright  2026 moosync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class sync_cohort_instances extends batch_api {

    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'courseids' => new external_multiple_structure(
                new external_value(PARAM_INT, 'A course'),
                'Courses whose cohort sync instances are brought in step with their cohorts'
            ),
        ]);
    }

    /**
     * Runs enrol_cohort_sync for each course, then gives each instance's period to its enrolments.
     *
     * @param int[] $courseids
     * @return array
     */
    public static function execute(array $courseids): array {
        $params = self::validate_parameters(self::execute_parameters(), ['courseids' => $courseids]);
        $ids = $params['courseids'];
        $courses = self::load_courses($ids);
        self::require_in_courses(array_keys($courses), ['moodle/course:enrolconfig', 'enrol/cohort:config']);
        self::require_enrol_plugin('cohort');

        $results = [];
        $warnings = [];
        foreach ($ids as $index => $courseid) {
            try {
                $results[] = ['index' => $index] + self::in_transaction(function() use ($courseid, $courses) {
                    global $DB;
                    if (!isset($courses[$courseid])) {
                        throw new item_failure('coursenotfound', $courseid);
                    }
                    cohort_instance::sync_course($courseid);
                    $enrolled = $DB->count_records_sql(
                        "SELECT COUNT(ue.id)
                           FROM {user_enrolments} ue
                           JOIN {enrol} e ON e.id = ue.enrolid
                          WHERE e.courseid = :courseid AND e.enrol = 'cohort' AND e.status = :enabled
                                AND ue.status = :active",
                        ['courseid' => $courseid, 'enabled' => ENROL_INSTANCE_ENABLED, 'active' => ENROL_USER_ACTIVE]);
                    return [
                        'courseid' => $courseid,
                        'instances' => $DB->count_records('enrol', ['courseid' => $courseid, 'enrol' => 'cohort']),
                        'enrolled' => $enrolled,
                    ];
                });
            } catch (Throwable $e) {
                $warnings[] = self::warning_from($index, $courseid, $e);
            }
        }
        return ['courses' => $results, 'warnings' => $warnings];
    }

    /**
     * Answer.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'courses' => new external_multiple_structure(
                new external_single_structure([
                    'index' => new external_value(PARAM_INT, 'Position of the course id in the call'),
                    'courseid' => new external_value(PARAM_INT, 'The course'),
                    'instances' => new external_value(PARAM_INT, 'Its cohort sync instances'),
                    'enrolled' => new external_value(PARAM_INT,
                        'Active enrolments through its enabled cohort sync instances, after the sync'),
                ]),
                'The items done'
            ),
            'warnings' => self::warnings_returns(),
        ]);
    }
}
