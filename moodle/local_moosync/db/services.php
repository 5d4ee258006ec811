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

/**
 * The plugin's web service functions. No service is declared: an administrator adds the
 * functions to the service the sync uses (see README.md).
 *
 * @package    local_moosync
 * @copyright  2026 moosync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$functions = [
    'local_moosync_add_cohort_instances' => [
        'classname' => 'local_moosync\external\add_cohort_instances',
        'methodname' => 'execute',
        'description' => 'Binds cohorts to courses: adds cohort sync enrolment instances, which enrol the cohorts\' members.',
        'type' => 'write',
        'capabilities' => 'moodle/course:enrolconfig, enrol/cohort:config, moodle/course:managegroups',
        'ajax' => false,
    ],
    'local_moosync_update_cohort_instances' => [
        'classname' => 'local_moosync\external\update_cohort_instances',
        'methodname' => 'execute',
        'description' => 'Changes the role, status, group, enrolment period or name of cohort sync instances.',
        'type' => 'write',
        'capabilities' => 'moodle/course:enrolconfig, enrol/cohort:config, moodle/course:managegroups',
        'ajax' => false,
    ],
    'local_moosync_delete_cohort_instances' => [
        'classname' => 'local_moosync\external\delete_cohort_instances',
        'methodname' => 'execute',
        'description' => 'Deletes cohort sync instances, unenrolling their members.',
        'type' => 'write',
        'capabilities' => 'moodle/course:enrolconfig, enrol/cohort:config',
        'ajax' => false,
    ],
    'local_moosync_sync_cohort_instances' => [
        'classname' => 'local_moosync\external\sync_cohort_instances',
        'methodname' => 'execute',
        'description' => 'Runs the cohort sync of courses now.',
        'type' => 'write',
        'capabilities' => 'moodle/course:enrolconfig, enrol/cohort:config',
        'ajax' => false,
    ],
    'local_moosync_reset_courses' => [
        'classname' => 'local_moosync\external\reset_courses',
        'methodname' => 'execute',
        'description' => 'Resets courses (Moodle\'s course reset) with the options of the reset form.',
        'type' => 'write',
        'capabilities' => 'moodle/course:reset',
        'ajax' => false,
    ],
    'local_moosync_set_meta_links' => [
        'classname' => 'local_moosync\external\set_meta_links',
        'methodname' => 'execute',
        'description' => 'Enables (adding when missing) or disables course meta links; a disabled link keeps its enrolments.',
        'type' => 'write',
        'capabilities' => 'moodle/course:enrolconfig, enrol/meta:config, enrol/meta:selectaslinked',
        'ajax' => false,
    ],
    'local_moosync_set_enrol_methods' => [
        'classname' => 'local_moosync\external\set_enrol_methods',
        'methodname' => 'execute',
        'description' => 'Enables (adding when missing) or disables the self enrolment or guest access method of courses.',
        'type' => 'write',
        'capabilities' => 'moodle/course:enrolconfig, enrol/self:config, enrol/guest:config',
        'ajax' => false,
    ],
    'local_moosync_set_sections' => [
        'classname' => 'local_moosync\external\set_sections',
        'methodname' => 'execute',
        'description' => 'Sets the names and summaries of course sections, creating missing sections.',
        'type' => 'write',
        'capabilities' => 'moodle/course:update',
        'ajax' => false,
    ],
    'local_moosync_add_group_members' => [
        'classname' => 'local_moosync\external\add_group_members',
        'methodname' => 'execute',
        'description' => 'Adds group members, recording local_moosync as the component owning each membership.',
        'type' => 'write',
        'capabilities' => 'moodle/course:managegroups',
        'ajax' => false,
    ],
    'local_moosync_remove_group_members' => [
        'classname' => 'local_moosync\external\remove_group_members',
        'methodname' => 'execute',
        'description' => 'Removes group members, optionally only the memberships local_moosync owns.',
        'type' => 'write',
        'capabilities' => 'moodle/course:managegroups',
        'ajax' => false,
    ],
    'local_moosync_get_users' => [
        'classname' => 'local_moosync\external\get_users',
        'methodname' => 'execute',
        'description' => 'Finds accounts by id, username, idnumber or email, with only the fields a sync compares.',
        'type' => 'read',
        'capabilities' => 'moodle/user:viewalldetails, moodle/user:viewhiddendetails',
        'ajax' => false,
    ],
    'local_moosync_set_enrolments' => [
        'classname' => 'local_moosync\external\set_enrolments',
        'methodname' => 'execute',
        'description' => 'Enrols users through any enrolment method of a course, changes an enrolment\'s status and dates, or unenrols.',
        'type' => 'write',
        'capabilities' => 'moodle/course:enrolreview, enrol/manual:enrol, enrol/manual:unenrol, enrol/self:manage, enrol/self:unenrol',
        'ajax' => false,
    ],
    'local_moosync_get_account_rules' => [
        'classname' => 'local_moosync\external\get_account_rules',
        'methodname' => 'execute',
        'description' => 'The password policy and the installed languages, which Moodle checks of an account\'s values.',
        'type' => 'read',
        'capabilities' => 'moodle/user:create',
        'ajax' => false,
    ],
    'local_moosync_get_enrolments' => [
        'classname' => 'local_moosync\external\get_enrolments',
        'methodname' => 'execute',
        'description' => 'Lists the enrolments of courses (method, instance, status, dates) and the roles held there.',
        'type' => 'read',
        'capabilities' => 'moodle/course:enrolreview, moodle/course:viewparticipants',
        'ajax' => false,
    ],
    'local_moosync_get_groups' => [
        'classname' => 'local_moosync\external\get_groups',
        'methodname' => 'execute',
        'description' => 'Lists the groups, memberships (with their component) and groupings of courses.',
        'type' => 'read',
        'capabilities' => 'moodle/course:managegroups',
        'ajax' => false,
    ],
    'local_moosync_create_cohorts' => [
        'classname' => 'local_moosync\external\create_cohorts',
        'methodname' => 'execute',
        'description' => 'Creates cohorts, with no ID number or a managing component where wanted, which core_cohort_create_cohorts refuses or ignores.',
        'type' => 'write',
        'capabilities' => 'moodle/cohort:manage',
        'ajax' => false,
    ],
    'local_moosync_set_cohort_components' => [
        'classname' => 'local_moosync\external\set_cohort_components',
        'methodname' => 'execute',
        'description' => 'Sets the component that manages cohorts, which core_cohort_create_cohorts and _update_cohorts do not take.',
        'type' => 'write',
        'capabilities' => 'moodle/cohort:manage',
        'ajax' => false,
    ],
    'local_moosync_get_cohorts' => [
        'classname' => 'local_moosync\external\get_cohorts',
        'methodname' => 'execute',
        'description' => 'Finds cohorts by id, idnumber or name, with their members.',
        'type' => 'read',
        'capabilities' => 'moodle/cohort:view',
        'ajax' => false,
    ],
    'local_moosync_get_enrol_instances' => [
        'classname' => 'local_moosync\external\get_enrol_instances',
        'methodname' => 'execute',
        'description' => 'Lists the enrolment methods of courses with the settings that identify cohort and meta links.',
        'type' => 'read',
        'capabilities' => 'moodle/course:enrolreview',
        'ajax' => false,
    ],
    'local_moosync_get_sections' => [
        'classname' => 'local_moosync\external\get_sections',
        'methodname' => 'execute',
        'description' => 'Lists the sections of courses with their names and summaries.',
        'type' => 'read',
        'capabilities' => 'moodle/course:update',
        'ajax' => false,
    ],
];
