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

/**
 * The groups and users a batch of memberships names, each loaded in one query.
 *
 * @package    local_moosync
 * @copyright  2026 moosync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class group_targets {

    /** The component recorded on the memberships this plugin makes. */
    const COMPONENT = 'local_moosync';

    /** @var \stdClass[] groups by id */
    private $groups = [];

    /** @var \stdClass[] users (id, deleted) by id */
    private $users = [];

    /**
     * Loads the groups and users the items name.
     *
     * @param array[] $items each with groupid and userid
     */
    public function __construct(array $items) {
        global $DB;
        $groupids = array_values(array_unique(array_filter(array_column($items, 'groupid'))));
        if ($groupids) {
            $this->groups = $DB->get_records_list('groups', 'id', $groupids);
        }
        $userids = array_values(array_unique(array_filter(array_column($items, 'userid'))));
        if ($userids) {
            $this->users = $DB->get_records_list('user', 'id', $userids, '', 'id, deleted');
        }
    }

    /**
     * The courses of the groups found.
     *
     * @return int[]
     */
    public function courseids(): array {
        return array_values(array_unique(array_map('intval', array_column($this->groups, 'courseid'))));
    }

    /**
     * The group, or the item fails.
     *
     * @param int $groupid
     * @return \stdClass
     */
    public function group(int $groupid): \stdClass {
        if (!isset($this->groups[$groupid])) {
            throw new item_failure('groupnotfound', $groupid);
        }
        return $this->groups[$groupid];
    }

    /**
     * Fails the item unless the user exists and is not deleted.
     *
     * @param int $userid
     */
    public function require_user(int $userid): void {
        if (!isset($this->users[$userid]) || $this->users[$userid]->deleted) {
            throw new item_failure('usernotfound', $userid);
        }
    }

    /**
     * The membership as it is now (read per item: an earlier item of the call may have changed it).
     *
     * @param int $groupid
     * @param int $userid
     * @return \stdClass|null groups_members record
     */
    public function membership(int $groupid, int $userid): ?\stdClass {
        global $DB;
        return $DB->get_record('groups_members', ['groupid' => $groupid, 'userid' => $userid]) ?: null;
    }
}
