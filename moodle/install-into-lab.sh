#!/bin/bash
# install-into-lab.sh — puts moosync's Moodle plugin (local_moosync, beside this script) into
# the lab Moodle that ../shared/moodle-lab/setup.sh builds, and makes what the plugin's tests
# use: the external service "moosync_plugin" (the lab's "moosync" functions plus the plugin's)
# with a permanent admin token, and a user lacking the plugin's capabilities with a token.
#
#   install-into-lab.sh                    lint, copy, upgrade, service and tokens (idempotent)
#   install-into-lab.sh --check-uninstall  make a group membership through the plugin, uninstall
#                                          through Moodle's CLI, check that nothing of the plugin
#                                          is left and the membership is kept, then install again
#   install-into-lab.sh --uninstall        uninstall through Moodle's CLI and leave it out
#
# Root, after setup.sh. Knobs (environment), as setup.sh's:
#   MOODLE_LAB_DIR  [/opt/moodle-lab]  code in DIR/moodle
#   MOODLE_LAB_PORT [8080]             site at http://127.0.0.1:PORT
#   MOODLE_LAB_DB   [moodle]           PostgreSQL database (user moodle, password moodlelab)
# After it: DIR/token-plugin.txt (admin) and DIR/token-limited.txt (the limited user), mode 600.
# setup.sh --reset restores the database from before the plugin: run this again after it.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
PLUGIN="$HERE/local_moosync"
LAB="${MOODLE_LAB_DIR:-/opt/moodle-lab}"
WWW="http://127.0.0.1:${MOODLE_LAB_PORT:-8080}"
DB="${MOODLE_LAB_DB:-moodle}"
CODE="$LAB/moodle"
TARGET="$CODE/local/moosync"
log() { echo "moosync-plugin: $*"; }
die() { echo "moosync-plugin: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"
[ -f "$CODE/config.php" ] && [ -f "$LAB/token.txt" ] || \
    die "no lab Moodle in $LAB: run ../shared/moodle-lab/setup.sh first (same MOODLE_LAB_* settings)"
asweb() { (cd "$CODE" && runuser -u www-data -- "$@"); }
sql() { PGPASSWORD=moodlelab psql -h 127.0.0.1 -U moodle -d "$DB" -tAc "$1"; }

# Every PHP file of the plugin and its lab helper must pass php -l before Moodle sees it.
lint() {
    local f out bad=0
    while IFS= read -r -d '' f; do
        out="$(php -l "$f" 2>&1)" || { echo "$out" >&2; bad=1; }
    done < <(find "$HERE" -name '*.php' -print0)
    [ "$bad" = 0 ] || die "php -l failed (above)"
}

rest() { # token function [form fields]: the JSON answer
    curl -s --max-time 60 -d "wstoken=$1&wsfunction=$2&moodlewsrestformat=json${3:+&$3}" "$WWW/webservice/rest/server.php"
}

# The version this copy of the plugin declares, and the one the site has recorded (empty if none).
ours() { sed -n 's/^\$plugin->version *= *\([0-9]*\);.*/\1/p' "$PLUGIN/version.php"; }
recorded() { sql "SELECT value FROM mdl_config_plugins WHERE plugin = 'local_moosync' AND name = 'version'"; }

install_plugin() {
    lint
    # A newer build of the plugin on the site (another branch installed it) would make Moodle
    # refuse the upgrade as a downgrade: take it out through Moodle first, then install ours.
    local have want; have="$(recorded)"; want="$(ours)"
    [ -n "$want" ] || die "no \$plugin->version in $PLUGIN/version.php"
    if [ -n "$have" ] && [ "$have" -gt "$want" ]; then
        log "the site has local_moosync $have, newer than this copy's $want: uninstalling it first"
        # Moodle uninstalls only a plugin whose code is in place at the version it recorded.
        rm -rf "$TARGET"; cp -r "$PLUGIN" "$TARGET"
        sed -i "s/^\\\$plugin->version *=.*/\\\$plugin->version = $have;/" "$TARGET/version.php"
        asweb php admin/cli/uninstall_plugins.php --plugins=local_moosync --run >"$LAB/plugin-uninstall.log" 2>&1 || \
            { tail -20 "$LAB/plugin-uninstall.log"; die "uninstall of the newer build failed, see $LAB/plugin-uninstall.log"; }
    fi
    log "copying the plugin into $TARGET"
    rm -rf "$TARGET.new"
    cp -r "$PLUGIN" "$TARGET.new"
    chown -R root:root "$TARGET.new"
    chmod -R u=rwX,go=rX "$TARGET.new"
    rm -rf "$TARGET"
    mv "$TARGET.new" "$TARGET"
    log "upgrading Moodle (installs or upgrades local_moosync)"
    asweb php admin/cli/upgrade.php --non-interactive --allow-unstable >"$LAB/plugin-upgrade.log" 2>&1 || \
        { tail -20 "$LAB/plugin-upgrade.log"; die "upgrade failed, see $LAB/plugin-upgrade.log"; }
    [ "$(sql "SELECT COUNT(*) FROM mdl_config_plugins WHERE plugin = 'local_moosync' AND name = 'version'")" = 1 ] || \
        die "Moodle did not record local_moosync as installed (see $LAB/plugin-upgrade.log)"
    local T; T="$(mktemp -d)"
    cp "$HERE/lab_plugin_ws.php" "$T/"; chown -R www-data "$T"
    asweb php "$T/lab_plugin_ws.php" "$CODE" "$T/plugin" "$T/limited"
    install -m 600 "$T/plugin" "$LAB/token-plugin.txt"
    install -m 600 "$T/limited" "$LAB/token-limited.txt"
    rm -rf "$T"
    check_services
}

# The plugin service answers with the plugin's functions; the lab's own service without them.
check_services() {
    local out i
    for i in $(seq 1 30); do
        out="$(rest "$(cat "$LAB/token-plugin.txt")" core_webservice_get_site_info || true)"
        case "$out" in *'"siteurl"'*) break;; esac
        sleep 1
    done
    case "$out" in *'"local_moosync_get_users"'*) ;; *) die "the moosync_plugin service lacks the plugin's functions: ${out:0:300}";; esac
    out="$(rest "$(cat "$LAB/token.txt")" core_webservice_get_site_info)"
    case "$out" in
        *'"local_moosync_'*) die "the lab's moosync service holds plugin functions; it must not";;
        *'"siteurl"'*) ;;
        *) die "the lab's moosync service does not answer: ${out:0:300}";;
    esac
    out="$(rest "$(cat "$LAB/token-limited.txt")" local_moosync_get_users 'field=username&values[0]=admin')"
    case "$out" in *'"nopermissions"'*) ;; *) die "the limited token was not refused: ${out:0:300}";; esac
    log "installed: $WWW, tokens in $LAB/token-plugin.txt and $LAB/token-limited.txt"
}

# A group membership owned by the plugin, made through its function, so the uninstall check
# has one to see kept.
seed_membership() {
    local t stamp u c g out
    [ -f "$LAB/token-plugin.txt" ] || die "the plugin is not installed here: run install-into-lab.sh first"
    t="$(cat "$LAB/token-plugin.txt")"; stamp="uninst$(date +%s%N)"
    id_of() { php -r '$v = json_decode(stream_get_contents(STDIN), true); echo $v[0]["id"] ?? "";'; }
    u="$(rest "$t" core_user_create_users "users[0][username]=$stamp&users[0][password]=Lab-Pass-1%21&users[0][firstname]=U&users[0][lastname]=U&users[0][email]=$stamp@example.edu" | id_of)"
    c="$(rest "$t" core_course_create_courses "courses[0][fullname]=$stamp&courses[0][shortname]=$stamp&courses[0][categoryid]=1" | id_of)"
    rest "$t" enrol_manual_enrol_users "enrolments[0][roleid]=5&enrolments[0][userid]=$u&enrolments[0][courseid]=$c" >/dev/null
    g="$(rest "$t" core_group_create_groups "groups[0][courseid]=$c&groups[0][name]=$stamp&groups[0][description]=" | id_of)"
    out="$(rest "$t" local_moosync_add_group_members "members[0][groupid]=$g&members[0][userid]=$u")"
    case "$out" in *'"added":true'*) ;; *) die "could not make a membership through the plugin: ${out:0:300}";; esac
}

uninstall() {
    [ -d "$TARGET" ] || die "local_moosync is not in $TARGET"
    OWNED="$(sql "SELECT COUNT(*) FROM mdl_groups_members WHERE component = 'local_moosync'")"
    MEMBERS="$(sql "SELECT COUNT(*) FROM mdl_groups_members")"
    log "uninstalling local_moosync through admin/cli/uninstall_plugins.php ($OWNED group memberships it owns)"
    asweb php admin/cli/uninstall_plugins.php --plugins=local_moosync --run >"$LAB/plugin-uninstall.log" 2>&1 || \
        { tail -20 "$LAB/plugin-uninstall.log"; die "uninstall failed, see $LAB/plugin-uninstall.log"; }
    # Moodle leaves the code in place; without it the next upgrade would install it again.
    rm -rf "$TARGET"
    asweb php admin/cli/purge_caches.php
}

# Nothing of the plugin may be left in the database once Moodle has uninstalled it.
check_gone() {
    local what n
    for what in \
        "mdl_config_plugins WHERE plugin = 'local_moosync'" \
        "mdl_external_functions WHERE component = 'local_moosync'" \
        "mdl_external_services_functions WHERE functionname LIKE 'local\\_moosync\\_%'" \
        "mdl_capabilities WHERE component = 'local_moosync'" \
        "mdl_events_handlers WHERE component = 'local_moosync'" \
        "mdl_task_scheduled WHERE component = 'local_moosync'" \
        "mdl_groups_members WHERE component = 'local_moosync'"; do
        n="$(sql "SELECT COUNT(*) FROM $what")"
        [ "$n" = 0 ] || die "after uninstall, $n rows left in $what"
    done
    n="$(sql "SELECT COUNT(*) FROM mdl_groups_members")"
    [ "$n" = "$MEMBERS" ] || die "uninstall took users out of groups: $MEMBERS memberships before, $n after"
    [ "${SEEDED:-0}" = 0 ] || [ "$OWNED" -ge 1 ] || die "no membership owned by the plugin before the uninstall"
    log "uninstalled cleanly: no config, function, capability or task of local_moosync left; its $OWNED memberships kept as ordinary ones"
}

case "${1:-}" in
    "") install_plugin;;
    --uninstall) uninstall; check_gone;;
    --check-uninstall) [ -f "$TARGET/version.php" ] && [ -f "$LAB/token-plugin.txt" ] || install_plugin
        seed_membership; SEEDED=1; uninstall; check_gone; install_plugin;;
    *) die "unknown argument $1 (none, --check-uninstall or --uninstall)";;
esac
