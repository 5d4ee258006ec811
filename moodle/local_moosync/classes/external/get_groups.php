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
 * local_moosync_get_groups: the groups and groupings of courses, with every membership's
 * component and item id and every grouping's groups.
 *
 * @package    local_moosync
 * @copyright  2026 moosync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class get_groups extends batch_api {

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
     * Reads groups, memberships, groupings and grouping groups: four queries per call.
     *
     * @param int[] $courseids
     * @return array
     */
    public static function execute(array $courseids): array {
        global $DB;
        $params = self::validate_parameters(self::execute_parameters(), ['courseids' => $courseids]);
        $courses = self::load_courses($params['courseids']);
        self::require_in_courses(array_keys($courses), ['moodle/course:managegroups']);

        $warnings = [];
        foreach ($params['courseids'] as $index => $courseid) {
            if (!isset($courses[$courseid])) {
                $warnings[] = self::warning($index, $courseid, 'coursenotfound', $courseid);
            }
        }
        $groups = [];
        $groupings = [];
        if ($courses) {
            [$in, $inparams] = $DB->get_in_or_equal(array_keys($courses), SQL_PARAMS_NAMED, 'c');
            $found = $DB->get_records_select('groups', "courseid $in", $inparams, 'courseid, id',
                'id, courseid, name, idnumber');
            $members = [];
            $rs = $DB->get_recordset_sql(
                "SELECT gm.id, gm.groupid, gm.userid, gm.component, gm.itemid
                   FROM {groups_members} gm
                   JOIN {groups} g ON g.id = gm.groupid
                  WHERE g.courseid $in
               ORDER BY gm.groupid, gm.userid", $inparams);
            foreach ($rs as $row) {
                $members[$row->groupid][] = [
                    'userid' => (int)$row->userid,
                    'component' => (string)$row->component,
                    'itemid' => (int)$row->itemid,
                ];
            }
            $rs->close();
            foreach ($found as $group) {
                $groups[$group->courseid][] = [
                    'id' => (int)$group->id,
                    'name' => $group->name,
                    'idnumber' => (string)$group->idnumber,
                    'members' => $members[$group->id] ?? [],
                ];
            }

            $found = $DB->get_records_select('groupings', "courseid $in", $inparams, 'courseid, id',
                'id, courseid, name, idnumber');
            $links = [];
            $rs = $DB->get_recordset_sql(
                "SELECT gg.id, gg.groupingid, gg.groupid
                   FROM {groupings_groups} gg
                   JOIN {groupings} gp ON gp.id = gg.groupingid
                  WHERE gp.courseid $in
               ORDER BY gg.groupingid, gg.groupid", $inparams);
            foreach ($rs as $row) {
                $links[$row->groupingid][] = (int)$row->groupid;
            }
            $rs->close();
            foreach ($found as $grouping) {
                $groupings[$grouping->courseid][] = [
                    'id' => (int)$grouping->id,
                    'name' => $grouping->name,
                    'idnumber' => (string)$grouping->idnumber,
                    'groupids' => $links[$grouping->id] ?? [],
                ];
            }
        }

        $answer = [];
        foreach ($params['courseids'] as $courseid) {
            if (isset($courses[$courseid]) && !isset($answer[$courseid])) {
                $answer[$courseid] = [
                    'courseid' => $courseid,
                    'groups' => $groups[$courseid] ?? [],
                    'groupings' => $groupings[$courseid] ?? [],
                ];
            }
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
                    'groups' => new external_multiple_structure(
                        new external_single_structure([
                            'id' => new external_value(PARAM_INT, 'Group id'),
                            'name' => new external_value(PARAM_RAW, 'Group name, as stored'),
                            'idnumber' => new external_value(PARAM_RAW, 'Group idnumber, as stored'),
                            'members' => new external_multiple_structure(
                                new external_single_structure([
                                    'userid' => new external_value(PARAM_INT, 'Member'),
                                    'component' => new external_value(PARAM_COMPONENT,
                                        'Component owning the membership (local_moosync, enrol_cohort...), empty for none'),
                                    'itemid' => new external_value(PARAM_INT, 'Item id recorded on the membership'),
                                ])
                            ),
                        ])
                    ),
                    'groupings' => new external_multiple_structure(
                        new external_single_structure([
                            'id' => new external_value(PARAM_INT, 'Grouping id'),
                            'name' => new external_value(PARAM_RAW, 'Grouping name, as stored'),
                            'idnumber' => new external_value(PARAM_RAW, 'Grouping idnumber, as stored'),
                            'groupids' => new external_multiple_structure(
                                new external_value(PARAM_INT, 'A group of the grouping')
                            ),
                        ])
                    ),
                ]),
                'The courses found, in the order asked, each once'
            ),
            'warnings' => self::warnings_returns(),
        ]);
    }
}
