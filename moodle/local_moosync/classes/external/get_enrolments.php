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
 * local_moosync_get_enrolments: who is enrolled in courses, through which instance, with which
 * status and dates, and the roles each holds in the course with their component and item id.
 *
 * @package    local_moosync
 * @copyright  2026 moosync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class get_enrolments extends batch_api {

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
            'userids' => new external_multiple_structure(
                new external_value(PARAM_INT, 'A user'),
                'Only these users; every user of the courses when empty',
                VALUE_DEFAULT, []
            ),
        ]);
    }

    /**
     * Reads the enrolments (one query) and the course-level role assignments (one query).
     *
     * @param int[] $courseids
     * @param int[] $userids
     * @return array
     */
    public static function execute(array $courseids, array $userids = []): array {
        global $DB;
        $params = self::validate_parameters(self::execute_parameters(),
            ['courseids' => $courseids, 'userids' => $userids]);
        $courses = self::load_courses($params['courseids']);
        self::require_in_courses(array_keys($courses), ['moodle/course:enrolreview', 'moodle/course:viewparticipants']);

        $warnings = [];
        foreach ($params['courseids'] as $index => $courseid) {
            if (!isset($courses[$courseid])) {
                $warnings[] = self::warning($index, $courseid, 'coursenotfound', $courseid);
            }
        }
        $users = [];
        if ($courses) {
            [$cin, $cparams] = $DB->get_in_or_equal(array_keys($courses), SQL_PARAMS_NAMED, 'c');
            $userfilter = '';
            $uparams = [];
            $onlyusers = array_values(array_unique($params['userids']));
            if ($onlyusers) {
                [$uin, $uparams] = $DB->get_in_or_equal($onlyusers, SQL_PARAMS_NAMED, 'u');
                $userfilter = "AND ue.userid $uin";
            }
            $rs = $DB->get_recordset_sql(
                "SELECT ue.id, e.courseid, ue.userid, e.id AS instanceid, e.enrol, e.status AS instancestatus,
                        ue.status, ue.timestart, ue.timeend
                   FROM {user_enrolments} ue
                   JOIN {enrol} e ON e.id = ue.enrolid
                  WHERE e.courseid $cin $userfilter
               ORDER BY e.courseid, ue.userid, e.id", $cparams + $uparams);
            foreach ($rs as $row) {
                $users[$row->courseid][$row->userid]['enrolments'][] = [
                    'instanceid' => (int)$row->instanceid,
                    'enrol' => $row->enrol,
                    'instancestatus' => (int)$row->instancestatus,
                    'status' => (int)$row->status,
                    'timestart' => (int)$row->timestart,
                    'timeend' => (int)$row->timeend,
                ];
            }
            $rs->close();

            [$cin, $cparams] = $DB->get_in_or_equal(array_keys($courses), SQL_PARAMS_NAMED, 'rc');
            $userfilter = str_replace('ue.userid', 'ra.userid', $userfilter);
            $cparams['level'] = CONTEXT_COURSE;
            $rs = $DB->get_recordset_sql(
                "SELECT ra.id, ctx.instanceid AS courseid, ra.userid, ra.roleid, ra.component, ra.itemid
                   FROM {role_assignments} ra
                   JOIN {context} ctx ON ctx.id = ra.contextid AND ctx.contextlevel = :level
                  WHERE ctx.instanceid $cin $userfilter
               ORDER BY ctx.instanceid, ra.userid, ra.id", $cparams + $uparams);
            foreach ($rs as $row) {
                $users[$row->courseid][$row->userid]['roles'][] = [
                    'roleid' => (int)$row->roleid,
                    'component' => (string)$row->component,
                    'itemid' => (int)$row->itemid,
                ];
            }
            $rs->close();
        }

        $answer = [];
        foreach ($params['courseids'] as $courseid) {
            if (!isset($courses[$courseid]) || isset($answer[$courseid])) {
                continue;
            }
            $list = [];
            foreach ($users[$courseid] ?? [] as $userid => $held) {
                $list[] = [
                    'userid' => $userid,
                    'enrolments' => $held['enrolments'] ?? [],
                    'roles' => $held['roles'] ?? [],
                ];
            }
            $answer[$courseid] = ['courseid' => $courseid, 'users' => $list];
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
                    'users' => new external_multiple_structure(
                        new external_single_structure([
                            'userid' => new external_value(PARAM_INT, 'A user enrolled, or holding a role, in the course'),
                            'enrolments' => new external_multiple_structure(
                                new external_single_structure([
                                    'instanceid' => new external_value(PARAM_INT, 'Enrol instance'),
                                    'enrol' => new external_value(PARAM_PLUGIN, 'Enrol method (manual, cohort, meta...)'),
                                    'instancestatus' => new external_value(PARAM_INT, 'Instance status: 0 enabled, 1 disabled'),
                                    'status' => new external_value(PARAM_INT, 'Enrolment status: 0 active, 1 suspended'),
                                    'timestart' => new external_value(PARAM_INT, 'Enrolment start, 0 for none'),
                                    'timeend' => new external_value(PARAM_INT, 'Enrolment end, 0 for none'),
                                ]),
                                'The user\'s enrolments in the course, one per instance'
                            ),
                            'roles' => new external_multiple_structure(
                                new external_single_structure([
                                    'roleid' => new external_value(PARAM_INT, 'Role'),
                                    'component' => new external_value(PARAM_COMPONENT,
                                        'Component that gave it (enrol_cohort, enrol_meta...), empty when given by hand'),
                                    'itemid' => new external_value(PARAM_INT, 'Item id of that component (its enrol instance)'),
                                ]),
                                'The user\'s role assignments in the course context'
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
