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
 * English strings.
 *
 * @package    local_moosync
 * @copyright  2026 moosync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

$string['enrolnotenabled'] = 'The enrolment method "{$a}" is not enabled on this site. Enable it under Site administration > Plugins > Enrolments > Manage enrol plugins.';
$string['pluginname'] = 'moosync companion';
$string['privacy:metadata'] = 'The moosync companion plugin stores no personal data. Its web service functions read and change enrolments, group memberships and course data through Moodle\'s own APIs, which store them.';
$string['protectgroupmembers'] = 'Protect synchronised group memberships';
$string['protectgroupmembers_desc'] = 'When on, group memberships added by the moosync web service functions cannot be removed on the group members page or through core web services; only the sync removes them.';
$string['warning_categorynotfound'] = 'No course category has id {$a}.';
$string['warning_cohortidnumbertaken'] = 'Another cohort has the ID number "{$a}".';
$string['warning_cohortnotavailable'] = 'Cohort {$a->cohort} cannot be used in course {$a->course}: it lives in another category, or it is hidden from you.';
$string['warning_cohortnotfound'] = 'No cohort has id {$a}.';
$string['warning_coursenotfound'] = 'No course has id {$a}.';
$string['warning_enrolnotenabled'] = 'The enrolment method "{$a}" is not enabled on this site.';
$string['warning_groupnotfound'] = 'No group has id {$a}.';
$string['warning_groupnotincourse'] = 'Group {$a->group} is not a group of course {$a->course}.';
$string['warning_instanceexists'] = 'The course already binds this cohort with role {$a}.';
$string['warning_instancenotfound'] = 'No cohort sync instance has id {$a}.';
$string['warning_invaliddates'] = 'The new course dates are not valid: {$a}';
$string['warning_invalidperiod'] = 'The enrolment period {$a->start} to {$a->end} is not valid: the end (when set) must come after the start.';
$string['warning_invalidsection'] = 'Section {$a->section} is not a section number this site allows (0 to {$a->max}, the site\'s maximum number of sections).';
$string['warning_invalidstatus'] = 'Status {$a} is not an instance status (0 enabled, 1 disabled).';
$string['warning_invalidvalue'] = '"{$a->value}" is not a valid {$a->field}.';
$string['warning_linkedcoursenotfound'] = 'No course has id {$a} (the linked course).';
$string['warning_methodnotsupported'] = 'The method "{$a}" cannot be set here: only self and guest.';
$string['warning_modulenotfound'] = 'No activity module "{$a}" is installed.';
$string['warning_noinstance'] = 'Course {$a->course} has no {$a->enrol} enrolment method.';
$string['warning_nolink'] = 'Course {$a->course} has no meta link from course {$a->linked} to disable.';
$string['warning_nomethod'] = 'Course {$a->course} has no {$a->enrol} method to disable.';
$string['warning_notadded'] = 'Moodle did not add user {$a->user} to group {$a->group}.';
$string['warning_notenrolled'] = 'User {$a->user} is not enrolled in course {$a->course}; Moodle adds only course participants to groups.';
$string['warning_notmember'] = 'User {$a->user} is not a member of group {$a->group}.';
$string['warning_notowned'] = 'The membership of user {$a->user} in group {$a->group} belongs to "{$a->component}", not to local_moosync; it was kept.';
$string['warning_removenotallowed'] = 'The membership of user {$a->user} in group {$a->group} belongs to "{$a->component}", which does not allow its removal.';
$string['warning_rolenotassignable'] = 'Role {$a} cannot be given in this course.';
$string['warning_rolenotfound'] = 'No role has shortname "{$a}".';
$string['warning_samecourse'] = 'Course {$a} cannot be linked to itself.';
$string['warning_sitecourse'] = 'The site home course ({$a}) cannot be used here.';
$string['warning_unknownresetoption'] = 'No activity module offers the reset option "{$a}".';
$string['warning_usernotfound'] = 'No user has id {$a}, or the account is deleted.';
