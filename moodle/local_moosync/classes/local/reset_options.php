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

defined('MOODLE_INTERNAL') || die();

global $CFG;
require_once($CFG->libdir . '/formslib.php');

/**
 * Turns a reset request's roles and module options into what reset_course_userdata reads,
 * checked against the roles and the activity modules the site has. Built once per call.
 *
 * @package    local_moosync
 * @copyright  2026 moosync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class reset_options {

    /** @var int[]|null role ids by shortname */
    private $roles = null;

    /** @var bool[]|null installed modules with a lib.php, by name */
    private $modules = null;

    /** @var bool[]|null the modules' reset form options by name: true for a multiple choice */
    private $elements = null;

    /**
     * The role ids of the form's "Unenrol users" list.
     *
     * @param string[] $shortnames roles whose holders are unenrolled
     * @param bool $all every role
     * @param bool $noroles the users holding no role (the form's "No roles", id 0)
     * @return int[]
     */
    public function unenrol_roleids(array $shortnames, bool $all, bool $noroles): array {
        if ($this->roles === null) {
            $this->roles = [];
            foreach (get_all_roles() as $role) {
                $this->roles[$role->shortname] = (int)$role->id;
            }
        }
        $ids = [];
        foreach ($shortnames as $shortname) {
            if (!isset($this->roles[$shortname])) {
                throw new item_failure('rolenotfound', $shortname);
            }
            $ids[] = $this->roles[$shortname];
        }
        if ($all) {
            $ids = array_merge($ids, array_values($this->roles));
        }
        if ($noroles) {
            $ids[] = 0;
        }
        return array_values(array_unique($ids));
    }

    /**
     * The module reset options: the named modules' defaults, then the options given.
     *
     * @param \stdClass $course
     * @param string[] $names modules whose defaults apply
     * @param bool $all every module's defaults apply
     * @param array[] $options name and value of each option given
     * @return array values by reset field name
     */
    public function module_values(\stdClass $course, array $names, bool $all, array $options): array {
        $modules = $this->modules();
        $values = [];
        foreach ($all ? array_keys($modules) : $names as $name) {
            if (!isset($modules[$name])) {
                throw new item_failure('modulenotfound', $name);
            }
            $defaults = $name . '_reset_course_form_defaults';
            if (function_exists($defaults)) {
                $values = array_merge($values, (array)$defaults(get_course($course->id)));
            }
        }
        $elements = $this->elements();
        foreach ($options as $option) {
            $name = $option['name'];
            if (!isset($elements[$name])) {
                throw new item_failure('unknownresetoption', $name);
            }
            $values[$name] = $elements[$name]
                ? array_values(array_filter(array_map('trim', explode(',', $option['value'])), 'strlen'))
                : (int)$option['value'];
        }
        return $values;
    }

    /**
     * The installed activity modules whose lib.php is there, their lib.php included.
     *
     * @return bool[] by module name
     */
    private function modules(): array {
        global $CFG, $DB;
        if ($this->modules === null) {
            $this->modules = [];
            foreach ($DB->get_fieldset_select('modules', 'name', '1 = 1') as $name) {
                $lib = $CFG->dirroot . '/mod/' . $name . '/lib.php';
                if (file_exists($lib)) {
                    include_once($lib);
                    $this->modules[$name] = true;
                }
            }
        }
        return $this->modules;
    }

    /**
     * The options the modules' reset forms offer, read from the forms themselves, so that a
     * misspelt option fails its item instead of being ignored.
     *
     * @return bool[] by option name: true for a multiple choice
     */
    private function elements(): array {
        if ($this->elements === null) {
            $this->elements = [];
            $mform = new \MoodleQuickForm('local_moosync_reset', 'post', '');
            foreach (array_keys($this->modules()) as $name) {
                $definition = $name . '_reset_course_form_definition';
                if (function_exists($definition)) {
                    $definition($mform);
                }
            }
            foreach ($mform->_elements as $element) {
                if ($element->getType() === 'header' || !$element->getName()) {
                    continue;
                }
                $this->elements[$element->getName()] = $element->getType() === 'select' && $element->getMultiple();
            }
        }
        return $this->elements;
    }
}
