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
 * local_moosync_add_group_members: adds group members, each membership owned by local_moosync
 * (the component Moodle records on it) with the caller's item id.
 *
 * @package    local_moosync
 * @copyright  2026 moosync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class add_group_members extends batch_api {

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
                    'userid' => new external_value(PARAM_INT, 'The user, who must be enrolled in the group\'s course'),
                    'itemid' => new external_value(PARAM_INT, 'Item id recorded on the membership beside the component',
                        VALUE_DEFAULT, 0),
                ]),
                'Memberships to add'
            ),
        ]);
    }

    /**
     * Adds each membership through groups_add_member with the component local_moosync.
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
                    $targets->require_user($item['userid']);
                    $current = $targets->membership($group->id, $item['userid']);
                    if ($current) {
                        return self::answer($item, false, $current->component, (int)$current->itemid);
                    }
                    if (!is_enrolled(\context_course::instance($group->courseid), $item['userid'])) {
                        throw new item_failure('notenrolled', (object)['user' => $item['userid'], 'course' => $group->courseid]);
                    }
                    if (!groups_add_member($group, $item['userid'], group_targets::COMPONENT, $item['itemid'])) {
                        throw new item_failure('notadded', (object)['user' => $item['userid'], 'group' => $group->id]);
                    }
                    return self::answer($item, true, group_targets::COMPONENT, $item['itemid']);
                });
            } catch (Throwable $e) {
                $warnings[] = self::warning_from($index, $item['groupid'], $e);
            }
        }
        return ['members' => $results, 'warnings' => $warnings];
    }

    /**
     * The answer for one membership.
     *
     * @param array $item
     * @param bool $added
     * @param string $component
     * @param int $itemid
     * @return array
     */
    private static function answer(array $item, bool $added, string $component, int $itemid): array {
        return [
            'groupid' => $item['groupid'],
            'userid' => $item['userid'],
            'added' => $added,
            'component' => $component,
            'itemid' => $itemid,
        ];
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
                    'userid' => new external_value(PARAM_INT, 'The user'),
                    'added' => new external_value(PARAM_BOOL,
                        'True when added now; false when already a member (the membership is left as it is)'),
                    'component' => new external_value(PARAM_COMPONENT,
                        'Component owning the membership: local_moosync, empty for one made by hand, or another'),
                    'itemid' => new external_value(PARAM_INT, 'Item id recorded on the membership'),
                ]),
                'The items done'
            ),
            'warnings' => self::warnings_returns(),
        ]);
    }
}
