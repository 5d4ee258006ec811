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
 * local_moosync_set_enrol_methods: puts a course's self enrolment or guest access method in
 * the state asked, enabled (added with the method's defaults when the course has none) or
 * disabled, as a teacher does on the course's enrolment methods page.
 *
 * @package    local_moosync
 * @copyright  2026 moosync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class set_enrol_methods extends batch_api {

    /** @var string[] the methods this function sets */
    const METHODS = ['self', 'guest'];

    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'methods' => new external_multiple_structure(
                new external_single_structure([
                    'courseid' => new external_value(PARAM_INT, 'The course'),
                    'enrol' => new external_value(PARAM_PLUGIN, 'The method: self or guest'),
                    'enabled' => new external_value(PARAM_BOOL,
                        'True: enabled, and added when the course has none. False: disabled'),
                ]),
                'Methods of courses and the state each must be in'
            ),
        ]);
    }

    /**
     * Sets each method, each in its own transaction.
     *
     * @param array $methods
     * @return array
     */
    public static function execute(array $methods): array {
        $params = self::validate_parameters(self::execute_parameters(), ['methods' => $methods]);
        $items = $params['methods'];
        $courses = self::load_courses(array_column($items, 'courseid'));

        $plugins = [];
        foreach ($items as $item) {
            if (in_array($item['enrol'], self::METHODS, true) && isset($courses[$item['courseid']])) {
                self::require_in_courses([$item['courseid']],
                    ['moodle/course:enrolconfig', 'enrol/' . $item['enrol'] . ':config']);
                if (!isset($plugins[$item['enrol']])) {
                    $plugins[$item['enrol']] = self::require_enrol_plugin($item['enrol']);
                }
            }
        }

        $results = [];
        $warnings = [];
        foreach ($items as $index => $item) {
            try {
                $results[] = ['index' => $index] + self::in_transaction(function() use ($item, $courses, $plugins) {
                    return self::set_one($item, $courses[$item['courseid']] ?? null, $plugins);
                });
            } catch (Throwable $e) {
                $warnings[] = self::warning_from($index, $item['courseid'], $e);
            }
        }
        return ['methods' => $results, 'warnings' => $warnings];
    }

    /**
     * One method of one course.
     *
     * @param array $item
     * @param \stdClass|null $course
     * @param \enrol_plugin[] $plugins the enabled methods of the call, by name
     * @return array the item's answer
     */
    private static function set_one(array $item, ?\stdClass $course, array $plugins): array {
        global $DB;
        if (!in_array($item['enrol'], self::METHODS, true)) {
            throw new item_failure('methodnotsupported', $item['enrol']);
        }
        if (!$course) {
            throw new item_failure('coursenotfound', $item['courseid']);
        }
        if ((int)$course->id === (int)SITEID) {
            throw new item_failure('sitecourse', SITEID);
        }
        $plugin = $plugins[$item['enrol']];
        // The first instance, as the course's enrolment methods page lists them.
        $found = $DB->get_records('enrol', ['enrol' => $item['enrol'], 'courseid' => $course->id], 'id ASC');
        $instance = $found ? reset($found) : null;

        $want = $item['enabled'] ? ENROL_INSTANCE_ENABLED : ENROL_INSTANCE_DISABLED;
        if (!$instance) {
            if (!$item['enabled']) {
                throw new item_failure('nomethod', (object)['course' => $course->id, 'enrol' => $item['enrol']]);
            }
            $id = $plugin->add_default_instance(get_course($course->id));
            $instance = $DB->get_record('enrol', ['id' => $id], '*', MUST_EXIST);
            if ((int)$instance->status !== $want) {
                $plugin->update_status($instance, $want);
            }
            $action = 'created';
        } else if ((int)$instance->status !== $want) {
            $plugin->update_status($instance, $want);
            $id = $instance->id;
            $action = $item['enabled'] ? 'enabled' : 'disabled';
        } else {
            $id = $instance->id;
            $action = 'unchanged';
        }
        $instance = $DB->get_record('enrol', ['id' => $id], '*', MUST_EXIST);
        return [
            'instanceid' => (int)$instance->id,
            'courseid' => (int)$instance->courseid,
            'enrol' => $instance->enrol,
            'action' => $action,
            'status' => (int)$instance->status,
        ];
    }

    /**
     * Answer.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'methods' => new external_multiple_structure(
                new external_single_structure([
                    'index' => new external_value(PARAM_INT, 'Position of the item in the call'),
                    'instanceid' => new external_value(PARAM_INT, 'The method\'s instance (enrol id)'),
                    'courseid' => new external_value(PARAM_INT, 'The course'),
                    'enrol' => new external_value(PARAM_PLUGIN, 'The method'),
                    'action' => new external_value(PARAM_ALPHA, 'created, enabled, disabled or unchanged'),
                    'status' => new external_value(PARAM_INT, 'Status now: 0 enabled, 1 disabled'),
                ]),
                'The items done'
            ),
            'warnings' => self::warnings_returns(),
        ]);
    }
}
