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
use local_moosync\local\reset_options;
use Throwable;

defined('MOODLE_INTERNAL') || die();

global $CFG;
require_once($CFG->dirroot . '/course/lib.php');

/**
 * local_moosync_reset_courses: Moodle's course reset (reset_course_userdata) with the options
 * of its reset form, for many courses.
 *
 * @package    local_moosync
 * @copyright  2026 moosync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class reset_courses extends batch_api {

    /** @var string[] the reset form's yes/no options, by this function's name for them */
    const FLAGS = [
        'events' => 'reset_events',
        'notes' => 'reset_notes',
        'comments' => 'reset_comments',
        'completion' => 'reset_completion',
        'blog_associations' => 'delete_blog_associations',
        'competency_ratings' => 'reset_competency_ratings',
        'roles_overrides' => 'reset_roles_overrides',
        'roles_local' => 'reset_roles_local',
        'gradebook_items' => 'reset_gradebook_items',
        'gradebook_grades' => 'reset_gradebook_grades',
        'groups_remove' => 'reset_groups_remove',
        'groups_members' => 'reset_groups_members',
        'groupings_remove' => 'reset_groupings_remove',
        'groupings_members' => 'reset_groupings_members',
    ];

    /** @var string[] what each flag does, for its description */
    const FLAG_DESCRIPTIONS = [
        'events' => 'Delete the course\'s calendar events',
        'notes' => 'Delete all notes',
        'comments' => 'Delete all comments',
        'completion' => 'Delete completion data',
        'blog_associations' => 'Delete blog associations',
        'competency_ratings' => 'Delete competency ratings',
        'roles_overrides' => 'Delete the permission overrides of the course and its activities',
        'roles_local' => 'Delete the role assignments of the activities and blocks (below the course)',
        'gradebook_items' => 'Delete all grade items and categories (and their grades)',
        'gradebook_grades' => 'Delete all grades',
        'groups_remove' => 'Delete all groups',
        'groups_members' => 'Remove all group members',
        'groupings_remove' => 'Delete all groupings',
        'groupings_members' => 'Remove all groups from groupings',
    ];

    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        $fields = [
            'courseid' => new external_value(PARAM_INT, 'The course to reset'),
            'unenrol_roles' => new external_multiple_structure(
                new external_value(PARAM_ALPHANUMEXT, 'Role shortname'),
                'Unenrol the users holding any of these roles in the course (Moodle\'s "Unenrol users")',
                VALUE_DEFAULT, []
            ),
            'unenrol_all' => new external_value(PARAM_BOOL, 'Unenrol the users holding any role in the course',
                VALUE_DEFAULT, false),
            'unenrol_noroles' => new external_value(PARAM_BOOL,
                'Unenrol the users holding no role in the course (the form\'s "No roles")', VALUE_DEFAULT, false),
        ];
        foreach (self::FLAG_DESCRIPTIONS as $name => $description) {
            $fields[$name] = new external_value(PARAM_BOOL, $description, VALUE_DEFAULT, false);
        }
        $fields['startdate'] = new external_value(PARAM_INT,
            'New course start date (timestamp); the course\'s dates move with it. 0 keeps it', VALUE_DEFAULT, 0);
        $fields['enddate'] = new external_value(PARAM_INT, 'New course end date (timestamp). 0 keeps it',
            VALUE_DEFAULT, 0);
        $fields['module_defaults'] = new external_multiple_structure(
            new external_value(PARAM_PLUGIN, 'Activity module name (forum, quiz...)'),
            'Apply these modules\' default reset options, as the form\'s "Select default" does',
            VALUE_DEFAULT, []
        );
        $fields['all_module_defaults'] = new external_value(PARAM_BOOL,
            'Apply every module\'s default reset options', VALUE_DEFAULT, false);
        $fields['module_options'] = new external_multiple_structure(
            new external_single_structure([
                'name' => new external_value(PARAM_ALPHANUMEXT,
                    'Option of a module\'s reset form (reset_forum_all, reset_quiz_attempts...)'),
                'value' => new external_value(PARAM_RAW,
                    '1 or 0; for a multiple choice (reset_forum_types) the chosen values, comma-separated'),
            ]),
            'Module reset options, set after the defaults', VALUE_DEFAULT, []
        );
        return new external_function_parameters([
            'courses' => new external_multiple_structure(
                new external_single_structure($fields),
                'Courses to reset, each with what to reset; what is not asked for is kept'
            ),
        ]);
    }

    /**
     * Resets each course through reset_course_userdata.
     *
     * @param array $courses
     * @return array
     */
    public static function execute(array $courses): array {
        $params = self::validate_parameters(self::execute_parameters(), ['courses' => $courses]);
        $items = $params['courses'];
        $found = self::load_courses(array_column($items, 'courseid'));
        self::require_in_courses(array_keys($found), ['moodle/course:reset']);

        $options = new reset_options();
        $results = [];
        $warnings = [];
        foreach ($items as $index => $item) {
            try {
                $results[] = ['index' => $index] + self::in_transaction(function() use ($item, $found, $options) {
                    return self::reset_one($item, $found[$item['courseid']] ?? null, $options);
                });
            } catch (Throwable $e) {
                $warnings[] = self::warning_from($index, $item['courseid'], $e);
            }
        }
        return ['courses' => $results, 'warnings' => $warnings];
    }

    /**
     * One course.
     *
     * @param array $item
     * @param \stdClass|null $course
     * @param reset_options $options
     * @return array the item's answer
     */
    private static function reset_one(array $item, ?\stdClass $course, reset_options $options): array {
        if (!$course) {
            throw new item_failure('coursenotfound', $item['courseid']);
        }
        if ((int)$course->id === (int)SITEID) {
            throw new item_failure('sitecourse', $course->id);
        }
        $data = new \stdClass();
        $data->id = $course->id;
        $data->reset_start_date_old = $course->startdate;
        $data->reset_end_date_old = $course->enddate;
        $data->reset_start_date = $item['startdate'];
        $data->reset_end_date = $item['enddate'];
        if ($item['startdate'] || $item['enddate']) {
            $dates = [
                'startdate' => $item['startdate'] ?: $course->startdate,
                'enddate' => $item['enddate'] ?: $course->enddate,
            ];
            if (!$item['enddate'] && $item['startdate'] && $course->enddate) {
                // reset_course_userdata moves the end with the start.
                $dates['enddate'] = $course->enddate + ($item['startdate'] - usergetmidnight($course->startdate));
            }
            if ($error = course_validate_dates($dates)) {
                throw new item_failure('invaliddates', get_string($error, 'error'));
            }
        }
        foreach (self::FLAGS as $name => $field) {
            $data->$field = $item[$name] ? 1 : 0;
        }
        $data->unenrol_users = $options->unenrol_roleids($item['unenrol_roles'], $item['unenrol_all'],
            $item['unenrol_noroles']);
        foreach ($options->module_values($course, $item['module_defaults'], $item['all_module_defaults'],
                $item['module_options']) as $field => $value) {
            $data->$field = $value;
        }

        $status = [];
        foreach (reset_course_userdata($data) as $line) {
            $status[] = [
                'component' => (string)$line['component'],
                'item' => (string)$line['item'],
                'error' => $line['error'] === false ? '' : (string)$line['error'],
            ];
        }
        return ['courseid' => (int)$course->id, 'status' => $status];
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
                    'index' => new external_value(PARAM_INT, 'Position of the item in the call'),
                    'courseid' => new external_value(PARAM_INT, 'The course reset'),
                    'status' => new external_multiple_structure(
                        new external_single_structure([
                            'component' => new external_value(PARAM_TEXT, 'Part of the course (General, Roles, Forums...)'),
                            'item' => new external_value(PARAM_TEXT, 'What was reset'),
                            'error' => new external_value(PARAM_TEXT, 'Empty when done, else why not'),
                        ]),
                        'Moodle\'s reset status list, as its reset page shows it'
                    ),
                ]),
                'The items done'
            ),
            'warnings' => self::warnings_returns(),
        ]);
    }
}
