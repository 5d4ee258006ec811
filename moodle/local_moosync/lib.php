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
 * Callbacks Moodle makes into the plugin.
 *
 * @package    local_moosync
 * @copyright  2026 moosync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

/**
 * Whether a group membership owned by local_moosync may be removed by other means than this
 * plugin's functions (the group members page, core_group_delete_group_members): yes, unless
 * the setting "Protect synchronised group memberships" is on.
 *
 * Called by groups_remove_member_allowed() through component_callback().
 *
 * @param int $itemid item id recorded on the membership
 * @param int $groupid
 * @param int $userid
 * @return bool
 */
function local_moosync_allow_group_member_remove($itemid, $groupid, $userid) {
    return !get_config('local_moosync', 'protectgroupmembers');
}
