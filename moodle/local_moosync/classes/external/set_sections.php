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
require_once($CFG->dirroot . '/course/lib.php');

/**
 * local_moosync_set_sections: gives course sections a name and a summary, creating the
 * section (and the numbers below it that are missing, so the course has no gaps) when needed,
 * as the course's "Edit section" page does.
 *
 * @package    local_moosync
 * @copyright  2026 moosync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class set_sections extends batch_api {

    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'sections' => new external_multiple_structure(
                new external_single_structure([
                    'courseid' => new external_value(PARAM_INT, 'The course'),
                    'section' => new external_value(PARAM_INT, 'Section number, 0 for the general section'),
                    'name' => new external_value(PARAM_TEXT, 'Its name; left as it is when absent', VALUE_OPTIONAL),
                    'summary' => new external_value(PARAM_RAW, 'Its summary (HTML); left as it is when absent',
                        VALUE_OPTIONAL),
                ]),
                'Sections and what to set in each'
            ),
        ]);
    }

    /**
     * Sets each section, each in its own transaction.
     *
     * @param array $sections
     * @return array
     */
    public static function execute(array $sections): array {
        $params = self::validate_parameters(self::execute_parameters(), ['sections' => $sections]);
        $items = $params['sections'];
        $courses = self::load_courses(array_column($items, 'courseid'));
        self::require_in_courses(array_keys($courses), ['moodle/course:update']);

        $results = [];
        $warnings = [];
        foreach ($items as $index => $item) {
            try {
                $results[] = ['index' => $index] + self::in_transaction(function() use ($item, $courses) {
                    return self::set_one($item, $courses[$item['courseid']] ?? null);
                });
            } catch (Throwable $e) {
                $warnings[] = self::warning_from($index, $item['courseid'], $e);
            }
        }
        return ['sections' => $results, 'warnings' => $warnings];
    }

    /**
     * One section.
     *
     * @param array $item
     * @param \stdClass|null $course
     * @return array the item's answer
     */
    private static function set_one(array $item, ?\stdClass $course): array {
        global $DB;
        if (!$course) {
            throw new item_failure('coursenotfound', $item['courseid']);
        }
        if ((int)$course->id === (int)SITEID) {
            throw new item_failure('sitecourse', SITEID);
        }
        $max = (int)get_config('moodlecourse', 'maxsections');
        if ($item['section'] < 0 || $item['section'] > $max) {
            throw new item_failure('invalidsection', (object)['section' => $item['section'], 'max' => $max]);
        }
        $created = course_create_sections_if_missing($course->id, range(0, $item['section']));
        $section = $DB->get_record('course_sections', ['course' => $course->id, 'section' => $item['section']],
            '*', MUST_EXIST);
        $data = [];
        foreach (['name', 'summary'] as $field) {
            if (array_key_exists($field, $item) && $item[$field] !== $section->$field) {
                $data[$field] = $item[$field];
            }
        }
        if ($data) {
            course_update_section($course->id, $section, $data);
        }
        return [
            'courseid' => (int)$course->id,
            'section' => (int)$section->section,
            'sectionid' => (int)$section->id,
            'created' => $created,
            'changed' => array_keys($data),
        ];
    }

    /**
     * Answer.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'sections' => new external_multiple_structure(
                new external_single_structure([
                    'index' => new external_value(PARAM_INT, 'Position of the item in the call'),
                    'courseid' => new external_value(PARAM_INT, 'The course'),
                    'section' => new external_value(PARAM_INT, 'Section number'),
                    'sectionid' => new external_value(PARAM_INT, 'The section (course_sections id)'),
                    'created' => new external_value(PARAM_BOOL, 'Whether sections were added to reach it'),
                    'changed' => new external_multiple_structure(
                        new external_value(PARAM_ALPHA, 'name or summary'),
                        'What changed; empty when the section already was so'
                    ),
                ]),
                'The items done'
            ),
            'warnings' => self::warnings_returns(),
        ]);
    }
}
