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
 * Uninstall hook.
 *
 * @package    local_moosync
 * @copyright  2026 moosync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

/**
 * Runs before Moodle removes the plugin: the group memberships it owns stay (the users stay in
 * their groups) and become ordinary memberships, so none names a component that is gone.
 * Moodle has no API to change a membership's owner, hence the one update.
 *
 * @return bool
 */
function xmldb_local_moosync_uninstall() {
    global $DB;
    $DB->execute("UPDATE {groups_members} SET component = '', itemid = 0 WHERE component = ?", ['local_moosync']);
    return true;
}
