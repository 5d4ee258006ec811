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

namespace local_moosync\local;

use context_course;

defined('MOODLE_INTERNAL') || die();

global $CFG;
require_once($CFG->dirroot . '/cohort/lib.php');
require_once($CFG->dirroot . '/enrol/cohort/lib.php');
require_once($CFG->dirroot . '/enrol/cohort/locallib.php');

/**
 * The rules the cohort sync functions share: which settings an instance may take, and the
 * enrolment period its members get.
 *
 * @package    local_moosync
 * @copyright  2026 moosync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class cohort_instance {

    /** @var array[] roles assignable per course context id, for one call */
    private $assignable = [];

    /**
     * Fails the item unless the role may be given by a cohort instance of the course: none (0)
     * or a role the caller may assign there, as the instance form offers.
     *
     * @param int $roleid
     * @param context_course $context
     */
    public function check_role(int $roleid, context_course $context): void {
        if ($roleid === 0) {
            return;
        }
        if (!isset($this->assignable[$context->id])) {
            $this->assignable[$context->id] = get_assignable_roles($context, ROLENAME_SHORT);
        }
        if (!isset($this->assignable[$context->id][$roleid])) {
            throw new item_failure('rolenotassignable', $roleid);
        }
    }

    /**
     * Fails the item unless status is an instance status.
     *
     * @param int $status
     */
    public static function check_status(int $status): void {
        if ($status !== ENROL_INSTANCE_ENABLED && $status !== ENROL_INSTANCE_DISABLED) {
            throw new item_failure('invalidstatus', $status);
        }
    }

    /**
     * Fails the item unless the period is one: an end (when set) after the start.
     *
     * @param int $start
     * @param int $end
     */
    public static function check_period(int $start, int $end): void {
        if ($start < 0 || $end < 0 || ($end !== 0 && $end < $start)) {
            throw new item_failure('invalidperiod', (object)['start' => $start, 'end' => $end]);
        }
    }

    /**
     * Fails the item unless the group setting is none (0), a new group (-1), or a group of the course.
     *
     * @param int $groupid
     * @param int $courseid
     */
    public static function check_group(int $groupid, int $courseid): void {
        global $DB;
        if ($groupid === COHORT_NOGROUP || $groupid === COHORT_CREATE_GROUP) {
            return;
        }
        if (!$DB->record_exists('groups', ['id' => $groupid, 'courseid' => $courseid])) {
            throw new item_failure('groupnotincourse', (object)['group' => $groupid, 'course' => $courseid]);
        }
    }

    /**
     * Gives the instance's enrolments its enrolment period (enrolstartdate, enrolenddate).
     *
     * enrol_cohort enrols members without dates; moosync's bindings give them the binding's
     * period, so the enrolments that differ are updated through the plugin (events fire).
     *
     * @param \stdClass $instance the enrol record
     * @return int how many enrolments changed
     */
    public static function apply_period(\stdClass $instance): int {
        global $DB;
        $start = (int)$instance->enrolstartdate;
        $end = (int)$instance->enrolenddate;
        $userids = $DB->get_fieldset_select('user_enrolments', 'userid',
            'enrolid = :enrolid AND (timestart <> :start OR timeend <> :end)',
            ['enrolid' => $instance->id, 'start' => $start, 'end' => $end]);
        $plugin = enrol_get_plugin('cohort');
        foreach ($userids as $userid) {
            $plugin->update_user_enrol($instance, $userid, null, $start, $end);
        }
        return count($userids);
    }

    /**
     * Runs Moodle's cohort sync for one course, then gives the period to its cohort instances.
     *
     * @param int $courseid
     */
    public static function sync_course(int $courseid): void {
        global $DB;
        $trace = new \null_progress_trace();
        enrol_cohort_sync($trace, $courseid);
        $trace->finished();
        foreach ($DB->get_records('enrol', ['courseid' => $courseid, 'enrol' => 'cohort']) as $instance) {
            self::apply_period($instance);
        }
    }
}
