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

/**
 * local_moosync_get_sections: the sections of courses with their names and summaries as
 * stored, in one query (core_course_get_contents reads every module of a course to answer it).
 *
 * @package    local_moosync
 * @copyright  2026 moosync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class get_sections extends batch_api {

    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'courseids' => new external_multiple_structure(
                new external_value(PARAM_INT, 'A course'),
                'Courses to read'
            ),
        ]);
    }

    /**
     * Reads the sections in one query.
     *
     * @param int[] $courseids
     * @return array
     */
    public static function execute(array $courseids): array {
        global $DB;
        $params = self::validate_parameters(self::execute_parameters(), ['courseids' => $courseids]);
        $courses = self::load_courses($params['courseids']);
        self::require_in_courses(array_keys($courses), ['moodle/course:update']);

        $warnings = [];
        $answer = [];
        foreach ($params['courseids'] as $index => $courseid) {
            if (!isset($courses[$courseid])) {
                $warnings[] = self::warning($index, $courseid, 'coursenotfound', $courseid);
            } else if (!isset($answer[$courseid])) {
                $answer[$courseid] = ['courseid' => (int)$courseid, 'sections' => []];
            }
        }
        if ($answer) {
            [$in, $inparams] = $DB->get_in_or_equal(array_keys($answer), SQL_PARAMS_NAMED, 'c');
            $rows = $DB->get_recordset_select('course_sections', "course $in", $inparams, 'course, section',
                'id, course, section, name, summary');
            foreach ($rows as $row) {
                $answer[$row->course]['sections'][] = [
                    'section' => (int)$row->section,
                    'name' => $row->name,
                    'summary' => (string)$row->summary,
                ];
            }
            $rows->close();
        }
        return ['courses' => array_values($answer), 'warnings' => $warnings];
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
                    'courseid' => new external_value(PARAM_INT, 'The course'),
                    'sections' => new external_multiple_structure(
                        new external_single_structure([
                            'section' => new external_value(PARAM_INT, 'Section number, 0 for the general section'),
                            'name' => new external_value(PARAM_RAW, 'Its name as stored; null for the format\'s default name',
                                VALUE_REQUIRED, null, NULL_ALLOWED),
                            'summary' => new external_value(PARAM_RAW, 'Its summary as stored'),
                        ]),
                        'The course\'s sections, by number'
                    ),
                ]),
                'Each course found once, in the order asked'
            ),
            'warnings' => self::warnings_returns(),
        ]);
    }
}
