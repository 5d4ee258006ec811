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
use local_moosync\local\group_targets;
use local_moosync\local\item_failure;
use Throwable;

defined('MOODLE_INTERNAL') || die();

global $CFG;
require_once($CFG->dirroot . '/group/lib.php');

/**
 * local_moosync_remove_group_members: removes group members, optionally only the memberships
 * local_moosync owns.
 *
 * @package    local_moosync
 * @copyright  2026 moosync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class remove_group_members extends batch_api {

    /**
     * Parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'members' => new external_multiple_structure(
                new external_single_structure([
                    'groupid' => new external_value(PARAM_INT, 'The group'),
                    'userid' => new external_value(PARAM_INT, 'The user'),
                    'onlyown' => new external_value(PARAM_BOOL,
                        'Remove the membership only when local_moosync owns it', VALUE_DEFAULT, false),
                ]),
                'Memberships to remove'
            ),
        ]);
    }

    /**
     * Removes each membership through groups_remove_member. A membership another component
     * owns (a cohort or meta enrolment's group) is removed only when that component allows it,
     * as Moodle's own core_group_delete_group_members does.
     *
     * @param array $members
     * @return array
     */
    public static function execute(array $members): array {
        $params = self::validate_parameters(self::execute_parameters(), ['members' => $members]);
        $items = $params['members'];
        $targets = new group_targets($items);
        self::require_in_courses($targets->courseids(), ['moodle/course:managegroups']);

        $results = [];
        $warnings = [];
        foreach ($items as $index => $item) {
            try {
                $results[] = ['index' => $index] + self::in_transaction(function() use ($item, $targets) {
                    $group = $targets->group($item['groupid']);
                    $current = $targets->membership($group->id, $item['userid']);
                    if (!$current) {
                        throw new item_failure('notmember', (object)['user' => $item['userid'], 'group' => $group->id]);
                    }
                    $component = (string)$current->component;
                    if ($component !== group_targets::COMPONENT) {
                        $a = (object)['user' => $item['userid'], 'group' => $group->id, 'component' => $component];
                        if ($item['onlyown']) {
                            throw new item_failure('notowned', $a);
                        }
                        if (!groups_remove_member_allowed($group, $item['userid'])) {
                            throw new item_failure('removenotallowed', $a);
                        }
                    }
                    groups_remove_member($group, $item['userid']);
                    return [
                        'groupid' => $item['groupid'],
                        'userid' => $item['userid'],
                        'component' => $component,
                        'itemid' => (int)$current->itemid,
                    ];
                });
            } catch (Throwable $e) {
                $warnings[] = self::warning_from($index, $item['groupid'], $e);
            }
        }
        return ['members' => $results, 'warnings' => $warnings];
    }

    /**
     * Answer.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'members' => new external_multiple_structure(
                new external_single_structure([
                    'index' => new external_value(PARAM_INT, 'Position of the item in the call'),
                    'groupid' => new external_value(PARAM_INT, 'The group'),
                    'userid' => new external_value(PARAM_INT, 'The user, no longer a member'),
                    'component' => new external_value(PARAM_COMPONENT, 'Component that owned the membership, empty for none'),
                    'itemid' => new external_value(PARAM_INT, 'Item id the membership had'),
                ]),
                'The items done'
            ),
            'warnings' => self::warnings_returns(),
        ]);
    }
}
