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
 * local_moosync_set_enrolments: enrols users through any enrolment method of a course (self
 * as well as manual), changes an enrolment's status and dates, or unenrols, through the
 * method's own enrol_user, update_user_enrol and unenrol_user. Core's web services enrol
 * through the manual method only and cannot change an enrolment.
 *
 * @package    local_moosync
 * @copyright  2026 moosync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class set_enrolments extends batch_api {

    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'enrolments' => new external_multiple_structure(
                new external_single_structure([
                    'courseid' => new external_value(PARAM_INT, 'The course'),
                    'enrol' => new external_value(PARAM_PLUGIN, 'The method: the course\'s first instance of it is used'),
                    'userid' => new external_value(PARAM_INT, 'The user'),
                    'unenrol' => new external_value(PARAM_BOOL, 'Unenrol instead', VALUE_DEFAULT, false),
                    'roleid' => new external_value(PARAM_INT, 'Role given with a new enrolment; 0 for none', VALUE_DEFAULT, 0),
                    'timestart' => new external_value(PARAM_INT, 'Start, 0 for none; left out: kept (0 for a new one)',
                        VALUE_DEFAULT, null, NULL_ALLOWED),
                    'timeend' => new external_value(PARAM_INT, 'End, 0 for none; left out: kept (0 for a new one)',
                        VALUE_DEFAULT, null, NULL_ALLOWED),
                    'suspended' => new external_value(PARAM_BOOL, 'The enrolment suspended; left out: kept (active for a new one)',
                        VALUE_DEFAULT, null, NULL_ALLOWED),
                ]),
                'Enrolments to make, change or remove'
            ),
        ]);
    }

    /**
     * Does each item through its method's plugin.
     *
     * @param array $enrolments
     * @return array
     */
    public static function execute(array $enrolments): array {
        global $DB;
        $params = self::validate_parameters(self::execute_parameters(), ['enrolments' => $enrolments]);
        $items = $params['enrolments'];
        $courses = self::load_courses(array_column($items, 'courseid'));
        $contexts = self::require_in_courses(array_keys($courses), ['moodle/course:enrolreview']);
        // Each method's own capability to enrol or unenrol others, in each course it is used in.
        foreach ($items as $item) {
            if (isset($contexts[$item['courseid']]) && enrol_is_enabled($item['enrol'])) {
                $verb = $item['unenrol'] ? 'unenrol' : 'enrol';
                $capability = get_capability_info("enrol/{$item['enrol']}:$verb")
                    ? "enrol/{$item['enrol']}:$verb" : "enrol/{$item['enrol']}:manage";
                require_capability($capability, $contexts[$item['courseid']]);
            }
        }

        $results = [];
        $warnings = [];
        foreach ($items as $index => $item) {
            try {
                $results[] = ['index' => $index] + self::in_transaction(function() use ($item, $courses, $DB) {
                    if (!isset($courses[$item['courseid']])) {
                        throw new item_failure('coursenotfound', $item['courseid']);
                    }
                    if (!enrol_is_enabled($item['enrol'])) {
                        throw new item_failure('enrolnotenabled', $item['enrol']);
                    }
                    $instance = null;
                    foreach (enrol_get_instances($item['courseid'], false) as $candidate) {
                        if ($candidate->enrol === $item['enrol']) {
                            $instance = $candidate;
                            break;
                        }
                    }
                    if (!$instance) {
                        throw new item_failure('noinstance', (object)['course' => $item['courseid'], 'enrol' => $item['enrol']]);
                    }
                    if (!$DB->record_exists('user', ['id' => $item['userid'], 'deleted' => 0])) {
                        throw new item_failure('usernotfound', $item['userid']);
                    }
                    $plugin = enrol_get_plugin($item['enrol']);
                    $status = $item['suspended'] === null ? null
                        : ($item['suspended'] ? ENROL_USER_SUSPENDED : ENROL_USER_ACTIVE);
                    $had = $DB->record_exists('user_enrolments', ['enrolid' => $instance->id, 'userid' => $item['userid']]);
                    if ($item['unenrol']) {
                        if ($had) {
                            $plugin->unenrol_user($instance, $item['userid']);
                        }
                    } else if ($had) {
                        $plugin->update_user_enrol($instance, $item['userid'], $status, $item['timestart'], $item['timeend']);
                    } else {
                        $plugin->enrol_user($instance, $item['userid'], $item['roleid'] ?: null,
                            (int)$item['timestart'], (int)$item['timeend'], $status ?? ENROL_USER_ACTIVE);
                    }
                    return [
                        'courseid' => $item['courseid'],
                        'userid' => $item['userid'],
                        'instanceid' => (int)$instance->id,
                        'changed' => $item['unenrol'] ? $had : true,
                    ];
                });
            } catch (Throwable $e) {
                $warnings[] = self::warning_from($index, $item['courseid'], $e);
            }
        }
        return ['enrolments' => $results, 'warnings' => $warnings];
    }

    /**
     * Answer.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'enrolments' => new external_multiple_structure(
                new external_single_structure([
                    'index' => new external_value(PARAM_INT, 'Position of the item in the call'),
                    'courseid' => new external_value(PARAM_INT, 'The course'),
                    'userid' => new external_value(PARAM_INT, 'The user'),
                    'instanceid' => new external_value(PARAM_INT, 'The enrolment instance used'),
                    'changed' => new external_value(PARAM_BOOL, 'False for an unenrolment of someone not enrolled'),
                ]),
                'The items done'
            ),
            'warnings' => self::warnings_returns(),
        ]);
    }
}
