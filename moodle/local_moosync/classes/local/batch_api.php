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

use context;
use context_course;
use context_helper;
use external_api;
use external_multiple_structure;
use external_single_structure;
use external_value;
use moodle_exception;
use Throwable;

defined('MOODLE_INTERNAL') || die();

global $CFG;
// The names external_api, external_value... are classes on Moodle 4.1 and aliases of the
// core_external classes on 4.2 to 4.5: this file makes both available, so one code path serves all.
require_once($CFG->libdir . '/externallib.php');

/**
 * What the plugin's batched functions share.
 *
 * A call names a list of items and is answered per item: the items done (each with its index)
 * and a warning for each item that failed (its index, a stable code and a message). Only what
 * concerns the whole call throws: its parameters, and the caller's context and capabilities,
 * which are checked for every target of the call before any item is done.
 *
 * @package    local_moosync
 * @copyright  2026 moosync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
abstract class batch_api extends external_api {

    /**
     * The description of the per-item warnings every function answers.
     *
     * @return external_multiple_structure
     */
    protected static function warnings_returns(): external_multiple_structure {
        return new external_multiple_structure(
            new external_single_structure([
                'index' => new external_value(PARAM_INT, 'Position of the failed item (or value) in the call, from 0'),
                'itemid' => new external_value(PARAM_INT, 'Id the item named (course, instance, group...), 0 when none'),
                'warningcode' => new external_value(PARAM_ALPHANUMEXT, 'Stable code of the failure'),
                'message' => new external_value(PARAM_TEXT, 'What failed, in words'),
            ]),
            'One entry per item that failed; every other item was done'
        );
    }

    /**
     * A warning for one item.
     *
     * @param int $index position of the item in the call
     * @param int $itemid id the item named, 0 when none
     * @param string $code stable code; the message is the language string warning_<code>
     * @param mixed $a what the message is filled with
     * @return array
     */
    protected static function warning(int $index, int $itemid, string $code, $a = null): array {
        return [
            'index' => $index,
            'itemid' => $itemid,
            'warningcode' => $code,
            'message' => get_string('warning_' . $code, 'local_moosync', $a),
        ];
    }

    /**
     * The warning for an item whose work threw.
     *
     * @param int $index position of the item in the call
     * @param int $itemid id the item named, 0 when none
     * @param Throwable $e what the item's work threw
     * @return array
     */
    protected static function warning_from(int $index, int $itemid, Throwable $e): array {
        if ($e instanceof item_failure) {
            $code = $e->warningcode;
        } else if ($e instanceof moodle_exception) {
            // Moodle's own error code (invalidrecord, nopermissions...), as its web services give it.
            $code = clean_param($e->errorcode, PARAM_ALPHANUMEXT);
        } else {
            $code = '';
        }
        return [
            'index' => $index,
            'itemid' => $itemid,
            'warningcode' => $code === '' ? 'unexpectederror' : $code,
            'message' => clean_param($e->getMessage(), PARAM_TEXT),
        ];
    }

    /**
     * Runs one item's work in its own transaction: an item that fails half-way leaves nothing
     * behind, and the items before and after it stand.
     *
     * @param callable $work returns the item's answer
     * @return mixed what $work returned
     */
    protected static function in_transaction(callable $work) {
        global $DB;
        $transaction = $DB->start_delegated_transaction();
        try {
            $result = $work();
            $transaction->allow_commit();
            return $result;
        } catch (Throwable $e) {
            // Rolls back, then throws $e again for the caller to turn into the item's warning.
            $transaction->rollback($e);
        }
    }

    /**
     * The courses a batch names that exist, by id, in one query, their contexts preloaded.
     *
     * @param int[] $ids course ids, repeats and zeros allowed
     * @return \stdClass[] course records (id, shortname, fullname, visible, startdate, enddate) by id
     */
    protected static function load_courses(array $ids): array {
        global $DB;
        $ids = array_values(array_unique(array_filter(array_map('intval', $ids))));
        if (!$ids) {
            return [];
        }
        [$in, $params] = $DB->get_in_or_equal($ids, SQL_PARAMS_NAMED, 'c');
        $select = context_helper::get_preload_record_columns_sql('ctx');
        $params['level'] = CONTEXT_COURSE;
        $records = $DB->get_records_sql(
            "SELECT c.id, c.shortname, c.fullname, c.visible, c.startdate, c.enddate, $select
               FROM {course} c
               JOIN {context} ctx ON ctx.instanceid = c.id AND ctx.contextlevel = :level
              WHERE c.id $in", $params);
        foreach ($records as $record) {
            context_helper::preload_from_record($record);
        }
        return $records;
    }

    /**
     * Checks that the caller may work in every given course with every given capability, as
     * Moodle's own functions do (validate_context, then require_capability); the first refusal
     * refuses the whole call.
     *
     * @param int[] $courseids courses that exist
     * @param string[] $capabilities capabilities needed in each
     * @return context_course[] the courses' contexts by course id
     */
    protected static function require_in_courses(array $courseids, array $capabilities): array {
        $contexts = [];
        foreach (array_unique($courseids) as $courseid) {
            $contexts[$courseid] = context_course::instance($courseid);
        }
        self::require_in_contexts($contexts, $capabilities);
        return $contexts;
    }

    /**
     * Checks that the caller may work in every given context with every given capability.
     *
     * @param context[] $contexts
     * @param string[] $capabilities
     */
    protected static function require_in_contexts(array $contexts, array $capabilities): void {
        foreach ($contexts as $context) {
            self::validate_context($context);
            foreach ($capabilities as $capability) {
                require_capability($capability, $context);
            }
        }
    }

    /**
     * The enrol plugin, which must be enabled on the site: the whole call is refused otherwise,
     * since no item could be done as Moodle means it (a disabled plugin's sync takes its roles).
     *
     * @param string $name enrol plugin name (cohort, meta)
     * @return \enrol_plugin
     */
    protected static function require_enrol_plugin(string $name): \enrol_plugin {
        if (!enrol_is_enabled($name)) {
            throw new moodle_exception('enrolnotenabled', 'local_moosync', '', $name);
        }
        return enrol_get_plugin($name);
    }
}
