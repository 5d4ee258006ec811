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
 * The failure of one item of a batch: it becomes that item's warning, never the call's error.
 *
 * The message is the language string "warning_<code>" of this plugin.
 *
 * @package    local_moosync
 * @copyright  2026 moosync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class item_failure extends \moodle_exception {

    /** @var string the stable code the caller sees in the item's warning */
    public $warningcode;

    /**
     * Constructor.
     *
     * @param string $warningcode stable code, also names the language string warning_<code>
     * @param mixed $a what the language string is filled with
     */
    public function __construct(string $warningcode, $a = null) {
        $this->warningcode = $warningcode;
        parent::__construct('warning_' . $warningcode, 'local_moosync', '', $a);
    }
}
