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

defined('MOODLE_INTERNAL') || die();

global $CFG;
require_once($CFG->dirroot . '/enrol/meta/locallib.php');

/**
 * local_moosync_set_meta_links: enables (creating when missing) or disables meta links, keeping
 * the enrolments of a disabled link.
 *
 * @package    local_moosync
 * @copyright  2026 moosync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class set_meta_links extends batch_api {

    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'links' => new external_multiple_structure(
                new external_single_structure([
                    'courseid' => new external_value(PARAM_INT, 'The meta course: the course that takes the participants'),
                    'linkedcourseid' => new external_value(PARAM_INT, 'The linked course the participants come from'),
                    'enabled' => new external_value(PARAM_BOOL,
                        'True: the link is enabled, and made when missing. False: it is disabled, its enrolments kept'),
                ]),
                'Meta links and the state each must be in'
            ),
        ]);
    }

    /**
     * Sets each link through enrol_meta's add_instance and update_status, which run the meta
     * sync of the course (an enabled link already there is synced again).
     *
     * @param array $links
     * @return array
     */
    public static function execute(array $links): array {
        $params = self::validate_parameters(self::execute_parameters(), ['links' => $links]);
        $items = $params['links'];
        $courses = self::load_courses(array_merge(array_column($items, 'courseid'), array_column($items, 'linkedcourseid')));

        $metacourses = [];
        $linked = [];
        $hidden = [];
        foreach ($items as $item) {
            if (isset($courses[$item['courseid']])) {
                $metacourses[] = $item['courseid'];
            }
            $source = $courses[$item['linkedcourseid']] ?? null;
            if ($item['enabled'] && $source) {
                $linked[] = $source->id;
                if (!$source->visible) {
                    $hidden[] = $source->id;
                }
            }
        }
        self::require_in_courses($metacourses, ['moodle/course:enrolconfig', 'enrol/meta:config']);
        self::require_in_courses($linked, ['enrol/meta:selectaslinked']);
        self::require_in_courses($hidden, ['moodle/course:viewhiddencourses']);
        $plugin = self::require_enrol_plugin('meta');

        $results = [];
        $warnings = [];
        foreach ($items as $index => $item) {
            try {
                $results[] = ['index' => $index] + self::in_transaction(function() use ($item, $courses, $plugin) {
                    return self::set_one($item, $courses, $plugin);
                });
            } catch (Throwable $e) {
                $warnings[] = self::warning_from($index, $item['courseid'], $e);
            }
        }
        return ['links' => $results, 'warnings' => $warnings];
    }

    /**
     * One link.
     *
     * @param array $item
     * @param \stdClass[] $courses
     * @param \enrol_plugin $plugin
     * @return array the item's answer
     */
    private static function set_one(array $item, array $courses, \enrol_plugin $plugin): array {
        global $DB;
        $course = $courses[$item['courseid']] ?? null;
        if (!$course) {
            throw new item_failure('coursenotfound', $item['courseid']);
        }
        if (!isset($courses[$item['linkedcourseid']])) {
            throw new item_failure('linkedcoursenotfound', $item['linkedcourseid']);
        }
        if ((int)$course->id === (int)SITEID || (int)$item['linkedcourseid'] === (int)SITEID) {
            throw new item_failure('sitecourse', SITEID);
        }
        if ((int)$course->id === (int)$item['linkedcourseid']) {
            throw new item_failure('samecourse', $course->id);
        }
        // An enabled link first, should the course hold several from the same linked course.
        $found = $DB->get_records('enrol', ['enrol' => 'meta', 'courseid' => $course->id,
            'customint1' => $item['linkedcourseid']], 'status ASC, id ASC');
        $instance = $found ? reset($found) : null;

        $want = $item['enabled'] ? ENROL_INSTANCE_ENABLED : ENROL_INSTANCE_DISABLED;
        if (!$instance) {
            if (!$item['enabled']) {
                throw new item_failure('nolink', (object)['course' => $course->id, 'linked' => $item['linkedcourseid']]);
            }
            $id = $plugin->add_instance($course, ['customint1' => $item['linkedcourseid']]);
            $action = 'created';
        } else if ((int)$instance->status !== $want) {
            $plugin->update_status($instance, $want);
            $id = $instance->id;
            $action = $item['enabled'] ? 'enabled' : 'disabled';
        } else {
            if ($item['enabled']) {
                // Brings a link that drifted from its linked course back in step.
                enrol_meta_sync($course->id);
            }
            $id = $instance->id;
            $action = 'unchanged';
        }
        $instance = $DB->get_record('enrol', ['id' => $id], '*', MUST_EXIST);
        return [
            'instanceid' => (int)$instance->id,
            'courseid' => (int)$instance->courseid,
            'linkedcourseid' => (int)$instance->customint1,
            'action' => $action,
            'status' => (int)$instance->status,
            'enrolled' => $DB->count_records('user_enrolments', ['enrolid' => $instance->id]),
        ];
    }

    /**
     * Answer.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'links' => new external_multiple_structure(
                new external_single_structure([
                    'index' => new external_value(PARAM_INT, 'Position of the item in the call'),
                    'instanceid' => new external_value(PARAM_INT, 'The meta link (enrol id)'),
                    'courseid' => new external_value(PARAM_INT, 'The meta course'),
                    'linkedcourseid' => new external_value(PARAM_INT, 'The linked course'),
                    'action' => new external_value(PARAM_ALPHA, 'created, enabled, disabled or unchanged'),
                    'status' => new external_value(PARAM_INT, 'Status now: 0 enabled, 1 disabled'),
                    'enrolled' => new external_value(PARAM_INT, 'Enrolments the link holds now (active or not)'),
                ]),
                'The items done'
            ),
            'warnings' => self::warnings_returns(),
        ]);
    }
}
