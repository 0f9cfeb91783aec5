# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_keyward_global_optspecs
    string join \n profile= url= local output= color= y/yes q/quiet v/verbose insecure-http h/help V/version
end

function __fish_keyward_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_keyward_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_keyward_using_subcommand
    set -l cmd (__fish_keyward_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c keyward -n "__fish_keyward_needs_command" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_needs_command" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_needs_command" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_needs_command" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_needs_command" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_needs_command" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_needs_command" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_needs_command" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_needs_command" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_needs_command" -s V -l version -d 'Print version'
complete -c keyward -n "__fish_keyward_needs_command" -f -a "login" -d 'Log in to a keyward server with a private key\'s id and secret'
complete -c keyward -n "__fish_keyward_needs_command" -f -a "logout" -d 'Forget the profile\'s login: its secret and cached token leave the keyring'
complete -c keyward -n "__fish_keyward_needs_command" -f -a "whoami" -d 'Show who you are and which store or server is in use'
complete -c keyward -n "__fish_keyward_needs_command" -f -a "keys" -d 'Create, list, show and revoke keys'
complete -c keyward -n "__fish_keyward_needs_command" -f -a "secrets" -d 'Secrets this machine keeps in the OS keyring'
complete -c keyward -n "__fish_keyward_needs_command" -f -a "profiles" -d 'Server profiles: list them, pick the one commands use, show it'
complete -c keyward -n "__fish_keyward_needs_command" -f -a "envs" -d 'Environments keys belong to'
complete -c keyward -n "__fish_keyward_needs_command" -f -a "permissions" -d 'The permissions keys may hold'
complete -c keyward -n "__fish_keyward_needs_command" -f -a "server" -d 'Run the Keyward API server'
complete -c keyward -n "__fish_keyward_needs_command" -f -a "generate" -d 'Generate shell completions or man pages'
complete -c keyward -n "__fish_keyward_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c keyward -n "__fish_keyward_using_subcommand login" -l client-id -d 'The private key\'s id (its OAuth client id)' -r
complete -c keyward -n "__fish_keyward_using_subcommand login" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand login" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand login" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand login" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand login" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand login" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand login" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand login" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand login" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand login" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand logout" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand logout" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand logout" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand logout" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand logout" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand logout" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand logout" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand logout" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand logout" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand logout" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand whoami" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand whoami" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand whoami" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand whoami" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand whoami" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand whoami" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand whoami" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand whoami" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand whoami" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand whoami" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and not __fish_seen_subcommand_from create list ls show edit disable enable rotate revoke verify check help" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and not __fish_seen_subcommand_from create list ls show edit disable enable rotate revoke verify check help" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and not __fish_seen_subcommand_from create list ls show edit disable enable rotate revoke verify check help" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and not __fish_seen_subcommand_from create list ls show edit disable enable rotate revoke verify check help" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and not __fish_seen_subcommand_from create list ls show edit disable enable rotate revoke verify check help" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and not __fish_seen_subcommand_from create list ls show edit disable enable rotate revoke verify check help" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and not __fish_seen_subcommand_from create list ls show edit disable enable rotate revoke verify check help" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and not __fish_seen_subcommand_from create list ls show edit disable enable rotate revoke verify check help" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and not __fish_seen_subcommand_from create list ls show edit disable enable rotate revoke verify check help" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and not __fish_seen_subcommand_from create list ls show edit disable enable rotate revoke verify check help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and not __fish_seen_subcommand_from create list ls show edit disable enable rotate revoke verify check help" -f -a "create" -d 'Create a key; its secret is shown once'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and not __fish_seen_subcommand_from create list ls show edit disable enable rotate revoke verify check help" -f -a "list" -d 'List keys, newest last'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and not __fish_seen_subcommand_from create list ls show edit disable enable rotate revoke verify check help" -f -a "ls" -d 'List keys, newest last'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and not __fish_seen_subcommand_from create list ls show edit disable enable rotate revoke verify check help" -f -a "show" -d 'Show one key'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and not __fish_seen_subcommand_from create list ls show edit disable enable rotate revoke verify check help" -f -a "edit" -d 'Edit a key\'s name, description, environments, permissions, allowed IPs or expiry'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and not __fish_seen_subcommand_from create list ls show edit disable enable rotate revoke verify check help" -f -a "disable" -d 'Disable a key: it and its tokens stop at once, until enabled again'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and not __fish_seen_subcommand_from create list ls show edit disable enable rotate revoke verify check help" -f -a "enable" -d 'Enable a disabled or expired key'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and not __fish_seen_subcommand_from create list ls show edit disable enable rotate revoke verify check help" -f -a "rotate" -d 'Give a key a new secret; the old one may keep working for a grace period'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and not __fish_seen_subcommand_from create list ls show edit disable enable rotate revoke verify check help" -f -a "revoke" -d 'Revoke a key: final, immediate for the key and its tokens'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and not __fish_seen_subcommand_from create list ls show edit disable enable rotate revoke verify check help" -f -a "verify" -d 'Check a key read from stdin, as a service would (for debugging)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and not __fish_seen_subcommand_from create list ls show edit disable enable rotate revoke verify check help" -f -a "check" -d 'List the keys that need attention (expiring soon, unused); exits 8 when there are any'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and not __fish_seen_subcommand_from create list ls show edit disable enable rotate revoke verify check help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from create" -l name -d 'Name, unique among keys that are not revoked (asked for on a terminal)' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from create" -l description -d 'What the key is for' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from create" -l type -d 'private: server-side, may get access tokens; public: only public-safe permissions' -r -f -a "private\t'Server-side secret; may exchange for access tokens and hold any permission'
public\t'Safe to embed in clients; only public-safe permissions, never a token'"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from create" -l env -d 'Environment the key belongs to (repeatable); default: your only one' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from create" -l permission -d 'Permission to grant (repeatable); default: none, a key that only authenticates' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from create" -l allow-ip -d 'Allow use only from this IPv4/IPv6 CIDR (repeatable); default: any address' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from create" -l expires-in -d 'Expire this long from now by the server\'s clock, e.g. 90d, 12h, "6 months" (30 days each), 1y (365 days, the most)' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from create" -l expires-at -d 'Expire at this date or time, e.g. 2027-01-31 or 2027-01-31T12:00:00Z' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from create" -l secret-file -d 'Use the secret in this file instead of generating one' -r -F
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from create" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from create" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from create" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from create" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from create" -l secret-stdin -d 'Use the secret on standard input instead of generating one'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from create" -l store -d 'Store the secret in the OS keyring without asking'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from create" -l no-store -d 'Do not store the secret and do not ask'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from create" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from create" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from create" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from create" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from create" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from list" -l status -d 'Only keys in this state' -r -f -a "active\t''
disabled\t''
expired\t'Derived: an active key whose `expires_at` has passed'
revoked\t''"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from list" -l type -d 'Only keys of this type' -r -f -a "private\t'Server-side secret; may exchange for access tokens and hold any permission'
public\t'Safe to embed in clients; only public-safe permissions, never a token'"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from list" -l env -d 'Only keys in this environment' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from list" -l permission -d 'Only keys holding this permission' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from list" -l search -d 'Text to find in name, description or allowed IPs; in the hint too when it looks like one (kw_sk_, or 4+ characters after … or ...)' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from list" -l expiring-within -d 'Only keys that will expire within this long, e.g. 30d (not those already expired or revoked, unless --status asks)' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from list" -l unused-for -d 'Only keys older than this and not used for this long (never-used too), e.g. 90d; revoked ones only with --status revoked' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from list" -l name -d 'Only the key with this exact name (and its revoked namesakes)' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from list" -l sort -d 'Order of the list' -r -f -a "created\t'Oldest first'
newest\t'Newest first'
expires\t'Soonest to expire first'
name\t'By name'"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from list" -l cursor -d 'Go on from this `next_cursor` of an earlier JSON page (with the same filters and sort)' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from list" -l limit -d 'At most this many keys (1–1000)' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from list" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from list" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from list" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from list" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from list" -l all -d 'Every matching key, page after page'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from list" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from list" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from list" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from ls" -l status -d 'Only keys in this state' -r -f -a "active\t''
disabled\t''
expired\t'Derived: an active key whose `expires_at` has passed'
revoked\t''"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from ls" -l type -d 'Only keys of this type' -r -f -a "private\t'Server-side secret; may exchange for access tokens and hold any permission'
public\t'Safe to embed in clients; only public-safe permissions, never a token'"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from ls" -l env -d 'Only keys in this environment' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from ls" -l permission -d 'Only keys holding this permission' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from ls" -l search -d 'Text to find in name, description or allowed IPs; in the hint too when it looks like one (kw_sk_, or 4+ characters after … or ...)' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from ls" -l expiring-within -d 'Only keys that will expire within this long, e.g. 30d (not those already expired or revoked, unless --status asks)' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from ls" -l unused-for -d 'Only keys older than this and not used for this long (never-used too), e.g. 90d; revoked ones only with --status revoked' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from ls" -l name -d 'Only the key with this exact name (and its revoked namesakes)' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from ls" -l sort -d 'Order of the list' -r -f -a "created\t'Oldest first'
newest\t'Newest first'
expires\t'Soonest to expire first'
name\t'By name'"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from ls" -l cursor -d 'Go on from this `next_cursor` of an earlier JSON page (with the same filters and sort)' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from ls" -l limit -d 'At most this many keys (1–1000)' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from ls" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from ls" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from ls" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from ls" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from ls" -l all -d 'Every matching key, page after page'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from ls" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from ls" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from ls" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from ls" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from show" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from show" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from show" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from show" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from show" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from show" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from show" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from edit" -l name -d 'New name' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from edit" -l description -d 'New description' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from edit" -l env -d 'Environments (repeatable; replaces the list)' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from edit" -l permission -d 'Permissions (repeatable; replaces the list)' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from edit" -l allow-ip -d 'Allowed CIDRs (repeatable; replaces the list)' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from edit" -l expires-in -d 'Expire this long from now by the server\'s clock, e.g. 90d, 12h, "6 months" (30 days each), 1y (365 days, the most)' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from edit" -l expires-at -d 'Expire at this date or time, e.g. 2027-01-31 or 2027-01-31T12:00:00Z' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from edit" -l if-version -d 'Apply only if the key is still at this version' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from edit" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from edit" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from edit" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from edit" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from edit" -l no-permissions -d 'Remove every permission'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from edit" -l any-ip -d 'Allow every address (clears the allowlist)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from edit" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from edit" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from edit" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from edit" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from edit" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from edit" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from disable" -l status -d 'Only keys in this state' -r -f -a "active\t''
disabled\t''
expired\t'Derived: an active key whose `expires_at` has passed'
revoked\t''"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from disable" -l type -d 'Only keys of this type' -r -f -a "private\t'Server-side secret; may exchange for access tokens and hold any permission'
public\t'Safe to embed in clients; only public-safe permissions, never a token'"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from disable" -l env -d 'Only keys in this environment' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from disable" -l permission -d 'Only keys holding this permission' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from disable" -l search -d 'Text to find in name, description or allowed IPs; in the hint too when it looks like one (kw_sk_, or 4+ characters after … or ...)' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from disable" -l expiring-within -d 'Only keys that will expire within this long, e.g. 30d (not those already expired or revoked, unless --status asks)' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from disable" -l unused-for -d 'Only keys older than this and not used for this long (never-used too), e.g. 90d; revoked ones only with --status revoked' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from disable" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from disable" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from disable" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from disable" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from disable" -l dry-run -d 'Show which keys would be disabled, and change nothing'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from disable" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from disable" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from disable" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from disable" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from disable" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from disable" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from enable" -l expires-in -d 'Expire this long from now by the server\'s clock, e.g. 90d, 12h, "6 months" (30 days each), 1y (365 days, the most)' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from enable" -l expires-at -d 'Expire at this date or time, e.g. 2027-01-31 or 2027-01-31T12:00:00Z' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from enable" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from enable" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from enable" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from enable" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from enable" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from enable" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from enable" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from enable" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from enable" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from enable" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from rotate" -l grace -d 'How long the old secret keeps working, e.g. 30m, 1d (default 0; at most 7d)' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from rotate" -l expires-in -d 'Expire this long from now by the server\'s clock, e.g. 90d, 12h, "6 months" (30 days each), 1y (365 days, the most)' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from rotate" -l expires-at -d 'Expire at this date or time, e.g. 2027-01-31 or 2027-01-31T12:00:00Z' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from rotate" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from rotate" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from rotate" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from rotate" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from rotate" -l store -d 'Store the new secret in the OS keyring without asking'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from rotate" -l no-store -d 'Do not store the new secret and do not ask'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from rotate" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from rotate" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from rotate" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from rotate" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from rotate" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from rotate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from revoke" -l status -d 'Only keys in this state' -r -f -a "active\t''
disabled\t''
expired\t'Derived: an active key whose `expires_at` has passed'
revoked\t''"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from revoke" -l type -d 'Only keys of this type' -r -f -a "private\t'Server-side secret; may exchange for access tokens and hold any permission'
public\t'Safe to embed in clients; only public-safe permissions, never a token'"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from revoke" -l env -d 'Only keys in this environment' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from revoke" -l permission -d 'Only keys holding this permission' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from revoke" -l search -d 'Text to find in name, description or allowed IPs; in the hint too when it looks like one (kw_sk_, or 4+ characters after … or ...)' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from revoke" -l expiring-within -d 'Only keys that will expire within this long, e.g. 30d (not those already expired or revoked, unless --status asks)' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from revoke" -l unused-for -d 'Only keys older than this and not used for this long (never-used too), e.g. 90d; revoked ones only with --status revoked' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from revoke" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from revoke" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from revoke" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from revoke" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from revoke" -l dry-run -d 'Show which keys would be revoked, and change nothing'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from revoke" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from revoke" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from revoke" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from revoke" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from revoke" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from verify" -l permission -d 'The permission the service needs' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from verify" -l env -d 'The environment the service runs in' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from verify" -l ip -d 'The address the request came from' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from verify" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from verify" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from verify" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from verify" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from verify" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from verify" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from verify" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from verify" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from verify" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from check" -l expiring-within -d 'Keys that will expire within this long need attention [default: 30d]' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from check" -l unused-for -d 'Keys older than this and not used for this long need attention too, e.g. 90d' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from check" -l env -d 'Only keys in this environment' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from check" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from check" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from check" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from check" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from check" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from check" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from check" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from check" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from check" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a key; its secret is shown once'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "list" -d 'List keys, newest last'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show one key'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "edit" -d 'Edit a key\'s name, description, environments, permissions, allowed IPs or expiry'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "disable" -d 'Disable a key: it and its tokens stop at once, until enabled again'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "enable" -d 'Enable a disabled or expired key'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "rotate" -d 'Give a key a new secret; the old one may keep working for a grace period'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "revoke" -d 'Revoke a key: final, immediate for the key and its tokens'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Check a key read from stdin, as a service would (for debugging)'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "check" -d 'List the keys that need attention (expiring soon, unused); exits 8 when there are any'
complete -c keyward -n "__fish_keyward_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and not __fish_seen_subcommand_from get list ls delete help" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and not __fish_seen_subcommand_from get list ls delete help" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and not __fish_seen_subcommand_from get list ls delete help" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and not __fish_seen_subcommand_from get list ls delete help" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and not __fish_seen_subcommand_from get list ls delete help" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and not __fish_seen_subcommand_from get list ls delete help" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and not __fish_seen_subcommand_from get list ls delete help" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and not __fish_seen_subcommand_from get list ls delete help" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and not __fish_seen_subcommand_from get list ls delete help" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and not __fish_seen_subcommand_from get list ls delete help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and not __fish_seen_subcommand_from get list ls delete help" -f -a "get" -d 'Print a stored secret on stdout'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and not __fish_seen_subcommand_from get list ls delete help" -f -a "list" -d 'List the secrets stored on this machine (never their values)'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and not __fish_seen_subcommand_from get list ls delete help" -f -a "ls" -d 'List the secrets stored on this machine (never their values)'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and not __fish_seen_subcommand_from get list ls delete help" -f -a "delete" -d 'Remove a stored secret from the keyring (the key itself is untouched)'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and not __fish_seen_subcommand_from get list ls delete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from get" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from get" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from get" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from get" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from get" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from get" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from get" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from get" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from get" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from get" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from list" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from list" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from list" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from list" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from list" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from list" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from list" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from ls" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from ls" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from ls" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from ls" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from ls" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from ls" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from ls" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from ls" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from delete" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from delete" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from delete" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from delete" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from delete" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from delete" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from delete" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from delete" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from help" -f -a "get" -d 'Print a stored secret on stdout'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the secrets stored on this machine (never their values)'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Remove a stored secret from the keyring (the key itself is untouched)'
complete -c keyward -n "__fish_keyward_using_subcommand secrets; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and not __fish_seen_subcommand_from list ls use show help" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and not __fish_seen_subcommand_from list ls use show help" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and not __fish_seen_subcommand_from list ls use show help" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and not __fish_seen_subcommand_from list ls use show help" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and not __fish_seen_subcommand_from list ls use show help" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and not __fish_seen_subcommand_from list ls use show help" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and not __fish_seen_subcommand_from list ls use show help" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and not __fish_seen_subcommand_from list ls use show help" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and not __fish_seen_subcommand_from list ls use show help" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and not __fish_seen_subcommand_from list ls use show help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and not __fish_seen_subcommand_from list ls use show help" -f -a "list" -d 'The profiles, and which one is in use'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and not __fish_seen_subcommand_from list ls use show help" -f -a "ls" -d 'The profiles, and which one is in use'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and not __fish_seen_subcommand_from list ls use show help" -f -a "use" -d 'Use this profile when none is named (`local`: the embedded store)'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and not __fish_seen_subcommand_from list ls use show help" -f -a "show" -d 'The profile in use: its server, client id and where it is saved'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and not __fish_seen_subcommand_from list ls use show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from list" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from list" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from list" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from list" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from list" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from list" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from list" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from ls" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from ls" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from ls" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from ls" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from ls" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from ls" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from ls" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from ls" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from use" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from use" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from use" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from use" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from use" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from use" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from use" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from use" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from use" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from use" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from show" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from show" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from show" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from show" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from show" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from show" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from show" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from help" -f -a "list" -d 'The profiles, and which one is in use'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from help" -f -a "use" -d 'Use this profile when none is named (`local`: the embedded store)'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from help" -f -a "show" -d 'The profile in use: its server, client id and where it is saved'
complete -c keyward -n "__fish_keyward_using_subcommand profiles; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and not __fish_seen_subcommand_from list ls create help" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand envs; and not __fish_seen_subcommand_from list ls create help" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand envs; and not __fish_seen_subcommand_from list ls create help" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand envs; and not __fish_seen_subcommand_from list ls create help" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand envs; and not __fish_seen_subcommand_from list ls create help" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and not __fish_seen_subcommand_from list ls create help" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and not __fish_seen_subcommand_from list ls create help" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and not __fish_seen_subcommand_from list ls create help" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and not __fish_seen_subcommand_from list ls create help" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and not __fish_seen_subcommand_from list ls create help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and not __fish_seen_subcommand_from list ls create help" -f -a "list" -d 'The environments you reach'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and not __fish_seen_subcommand_from list ls create help" -f -a "ls" -d 'The environments you reach'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and not __fish_seen_subcommand_from list ls create help" -f -a "create" -d 'Create an environment (super admins)'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and not __fish_seen_subcommand_from list ls create help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from list" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from list" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from list" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from list" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from list" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from list" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from list" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from ls" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from ls" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from ls" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from ls" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from ls" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from ls" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from ls" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from ls" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from create" -l description -d 'What the environment is for' -r
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from create" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from create" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from create" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from create" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from create" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from create" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from create" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from create" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from create" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from help" -f -a "list" -d 'The environments you reach'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create an environment (super admins)'
complete -c keyward -n "__fish_keyward_using_subcommand envs; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and not __fish_seen_subcommand_from list ls add help" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and not __fish_seen_subcommand_from list ls add help" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and not __fish_seen_subcommand_from list ls add help" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and not __fish_seen_subcommand_from list ls add help" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and not __fish_seen_subcommand_from list ls add help" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and not __fish_seen_subcommand_from list ls add help" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and not __fish_seen_subcommand_from list ls add help" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and not __fish_seen_subcommand_from list ls add help" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and not __fish_seen_subcommand_from list ls add help" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and not __fish_seen_subcommand_from list ls add help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and not __fish_seen_subcommand_from list ls add help" -f -a "list" -d 'The catalog: built-in permissions and the product\'s own'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and not __fish_seen_subcommand_from list ls add help" -f -a "ls" -d 'The catalog: built-in permissions and the product\'s own'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and not __fish_seen_subcommand_from list ls add help" -f -a "add" -d 'Add a permission to the local store\'s catalog (a server\'s is in its config file)'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and not __fish_seen_subcommand_from list ls add help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from list" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from list" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from list" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from list" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from list" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from list" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from list" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from ls" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from ls" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from ls" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from ls" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from ls" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from ls" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from ls" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from ls" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from add" -l description -d 'What it allows' -r
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from add" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from add" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from add" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from add" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from add" -l public-safe -d 'A public key may hold it'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from add" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from add" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from add" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from add" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from add" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from help" -f -a "list" -d 'The catalog: built-in permissions and the product\'s own'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a permission to the local store\'s catalog (a server\'s is in its config file)'
complete -c keyward -n "__fish_keyward_using_subcommand permissions; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c keyward -n "__fish_keyward_using_subcommand server" -l listen -d 'Address to listen on [default: 127.0.0.1:8080]' -r
complete -c keyward -n "__fish_keyward_using_subcommand server" -l database -d 'Database URL: sqlite:PATH (or a plain path to a SQLite file)' -r
complete -c keyward -n "__fish_keyward_using_subcommand server" -l config -d 'Server configuration file (TOML): listen, database, pepper_file, max_key_lifetime_days, shutdown_timeout_secs, last_used_flush_secs, trusted_proxies, [[permissions]]' -r -F
complete -c keyward -n "__fish_keyward_using_subcommand server" -l pepper-file -d 'File holding the pepper that keys every digest' -r -F
complete -c keyward -n "__fish_keyward_using_subcommand server" -l shutdown-timeout -d 'On SIGTERM, how long to wait for requests in flight before closing every connection [default: 10]' -r
complete -c keyward -n "__fish_keyward_using_subcommand server" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand server" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand server" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand server" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand server" -l dev -d 'Development server: loopback, throwaway database, sample data, a super-admin key printed once'
complete -c keyward -n "__fish_keyward_using_subcommand server" -l bootstrap -d 'Mint the first super-admin key of an empty database, print it once, and exit'
complete -c keyward -n "__fish_keyward_using_subcommand server" -l break-glass -d 'Break glass: mint a new super-admin key when all are lost, print it once, audit it, and exit'
complete -c keyward -n "__fish_keyward_using_subcommand server" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand server" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand server" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand server" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand server" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand server" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand generate; and not __fish_seen_subcommand_from completions man help" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand generate; and not __fish_seen_subcommand_from completions man help" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand generate; and not __fish_seen_subcommand_from completions man help" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand generate; and not __fish_seen_subcommand_from completions man help" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand generate; and not __fish_seen_subcommand_from completions man help" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand generate; and not __fish_seen_subcommand_from completions man help" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand generate; and not __fish_seen_subcommand_from completions man help" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand generate; and not __fish_seen_subcommand_from completions man help" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand generate; and not __fish_seen_subcommand_from completions man help" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand generate; and not __fish_seen_subcommand_from completions man help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand generate; and not __fish_seen_subcommand_from completions man help" -f -a "completions" -d 'Print the completion script for SHELL on stdout'
complete -c keyward -n "__fish_keyward_using_subcommand generate; and not __fish_seen_subcommand_from completions man help" -f -a "man" -d 'Write man pages (keyward.1, keyward-keys-create.1, …) into DIR'
complete -c keyward -n "__fish_keyward_using_subcommand generate; and not __fish_seen_subcommand_from completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c keyward -n "__fish_keyward_using_subcommand generate; and __fish_seen_subcommand_from completions" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand generate; and __fish_seen_subcommand_from completions" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand generate; and __fish_seen_subcommand_from completions" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand generate; and __fish_seen_subcommand_from completions" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand generate; and __fish_seen_subcommand_from completions" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand generate; and __fish_seen_subcommand_from completions" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand generate; and __fish_seen_subcommand_from completions" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand generate; and __fish_seen_subcommand_from completions" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand generate; and __fish_seen_subcommand_from completions" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand generate; and __fish_seen_subcommand_from completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand generate; and __fish_seen_subcommand_from man" -l profile -d 'Profile in config.toml to use' -r
complete -c keyward -n "__fish_keyward_using_subcommand generate; and __fish_seen_subcommand_from man" -l url -d 'Server URL (overrides the profile\'s); without one, the embedded local store is used' -r
complete -c keyward -n "__fish_keyward_using_subcommand generate; and __fish_seen_subcommand_from man" -l output -d 'Output for people (table) or scripts (json)' -r -f -a "table\t'Tables fitted to the terminal, for people'
json\t'The API\'s objects, for scripts'"
complete -c keyward -n "__fish_keyward_using_subcommand generate; and __fish_seen_subcommand_from man" -l color -d 'When to colour the output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c keyward -n "__fish_keyward_using_subcommand generate; and __fish_seen_subcommand_from man" -l local -d 'Use the embedded local store, whatever the profile or URL'
complete -c keyward -n "__fish_keyward_using_subcommand generate; and __fish_seen_subcommand_from man" -s y -l yes -d 'Answer yes to confirmations (needed for destructive commands without a terminal)'
complete -c keyward -n "__fish_keyward_using_subcommand generate; and __fish_seen_subcommand_from man" -s q -l quiet -d 'Print only the essential value: the secret after create, ids after list'
complete -c keyward -n "__fish_keyward_using_subcommand generate; and __fish_seen_subcommand_from man" -s v -l verbose -d 'More detail on stderr (-v info, -vv debug)'
complete -c keyward -n "__fish_keyward_using_subcommand generate; and __fish_seen_subcommand_from man" -l insecure-http -d 'Allow plain HTTP to a host that is not loopback (the secret would cross the network in clear)'
complete -c keyward -n "__fish_keyward_using_subcommand generate; and __fish_seen_subcommand_from man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c keyward -n "__fish_keyward_using_subcommand generate; and __fish_seen_subcommand_from help" -f -a "completions" -d 'Print the completion script for SHELL on stdout'
complete -c keyward -n "__fish_keyward_using_subcommand generate; and __fish_seen_subcommand_from help" -f -a "man" -d 'Write man pages (keyward.1, keyward-keys-create.1, …) into DIR'
complete -c keyward -n "__fish_keyward_using_subcommand generate; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c keyward -n "__fish_keyward_using_subcommand help; and not __fish_seen_subcommand_from login logout whoami keys secrets profiles envs permissions server generate help" -f -a "login" -d 'Log in to a keyward server with a private key\'s id and secret'
complete -c keyward -n "__fish_keyward_using_subcommand help; and not __fish_seen_subcommand_from login logout whoami keys secrets profiles envs permissions server generate help" -f -a "logout" -d 'Forget the profile\'s login: its secret and cached token leave the keyring'
complete -c keyward -n "__fish_keyward_using_subcommand help; and not __fish_seen_subcommand_from login logout whoami keys secrets profiles envs permissions server generate help" -f -a "whoami" -d 'Show who you are and which store or server is in use'
complete -c keyward -n "__fish_keyward_using_subcommand help; and not __fish_seen_subcommand_from login logout whoami keys secrets profiles envs permissions server generate help" -f -a "keys" -d 'Create, list, show and revoke keys'
complete -c keyward -n "__fish_keyward_using_subcommand help; and not __fish_seen_subcommand_from login logout whoami keys secrets profiles envs permissions server generate help" -f -a "secrets" -d 'Secrets this machine keeps in the OS keyring'
complete -c keyward -n "__fish_keyward_using_subcommand help; and not __fish_seen_subcommand_from login logout whoami keys secrets profiles envs permissions server generate help" -f -a "profiles" -d 'Server profiles: list them, pick the one commands use, show it'
complete -c keyward -n "__fish_keyward_using_subcommand help; and not __fish_seen_subcommand_from login logout whoami keys secrets profiles envs permissions server generate help" -f -a "envs" -d 'Environments keys belong to'
complete -c keyward -n "__fish_keyward_using_subcommand help; and not __fish_seen_subcommand_from login logout whoami keys secrets profiles envs permissions server generate help" -f -a "permissions" -d 'The permissions keys may hold'
complete -c keyward -n "__fish_keyward_using_subcommand help; and not __fish_seen_subcommand_from login logout whoami keys secrets profiles envs permissions server generate help" -f -a "server" -d 'Run the Keyward API server'
complete -c keyward -n "__fish_keyward_using_subcommand help; and not __fish_seen_subcommand_from login logout whoami keys secrets profiles envs permissions server generate help" -f -a "generate" -d 'Generate shell completions or man pages'
complete -c keyward -n "__fish_keyward_using_subcommand help; and not __fish_seen_subcommand_from login logout whoami keys secrets profiles envs permissions server generate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c keyward -n "__fish_keyward_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "create" -d 'Create a key; its secret is shown once'
complete -c keyward -n "__fish_keyward_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "list" -d 'List keys, newest last'
complete -c keyward -n "__fish_keyward_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "show" -d 'Show one key'
complete -c keyward -n "__fish_keyward_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "edit" -d 'Edit a key\'s name, description, environments, permissions, allowed IPs or expiry'
complete -c keyward -n "__fish_keyward_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "disable" -d 'Disable a key: it and its tokens stop at once, until enabled again'
complete -c keyward -n "__fish_keyward_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "enable" -d 'Enable a disabled or expired key'
complete -c keyward -n "__fish_keyward_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "rotate" -d 'Give a key a new secret; the old one may keep working for a grace period'
complete -c keyward -n "__fish_keyward_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "revoke" -d 'Revoke a key: final, immediate for the key and its tokens'
complete -c keyward -n "__fish_keyward_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "verify" -d 'Check a key read from stdin, as a service would (for debugging)'
complete -c keyward -n "__fish_keyward_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "check" -d 'List the keys that need attention (expiring soon, unused); exits 8 when there are any'
complete -c keyward -n "__fish_keyward_using_subcommand help; and __fish_seen_subcommand_from secrets" -f -a "get" -d 'Print a stored secret on stdout'
complete -c keyward -n "__fish_keyward_using_subcommand help; and __fish_seen_subcommand_from secrets" -f -a "list" -d 'List the secrets stored on this machine (never their values)'
complete -c keyward -n "__fish_keyward_using_subcommand help; and __fish_seen_subcommand_from secrets" -f -a "delete" -d 'Remove a stored secret from the keyring (the key itself is untouched)'
complete -c keyward -n "__fish_keyward_using_subcommand help; and __fish_seen_subcommand_from profiles" -f -a "list" -d 'The profiles, and which one is in use'
complete -c keyward -n "__fish_keyward_using_subcommand help; and __fish_seen_subcommand_from profiles" -f -a "use" -d 'Use this profile when none is named (`local`: the embedded store)'
complete -c keyward -n "__fish_keyward_using_subcommand help; and __fish_seen_subcommand_from profiles" -f -a "show" -d 'The profile in use: its server, client id and where it is saved'
complete -c keyward -n "__fish_keyward_using_subcommand help; and __fish_seen_subcommand_from envs" -f -a "list" -d 'The environments you reach'
complete -c keyward -n "__fish_keyward_using_subcommand help; and __fish_seen_subcommand_from envs" -f -a "create" -d 'Create an environment (super admins)'
complete -c keyward -n "__fish_keyward_using_subcommand help; and __fish_seen_subcommand_from permissions" -f -a "list" -d 'The catalog: built-in permissions and the product\'s own'
complete -c keyward -n "__fish_keyward_using_subcommand help; and __fish_seen_subcommand_from permissions" -f -a "add" -d 'Add a permission to the local store\'s catalog (a server\'s is in its config file)'
complete -c keyward -n "__fish_keyward_using_subcommand help; and __fish_seen_subcommand_from generate" -f -a "completions" -d 'Print the completion script for SHELL on stdout'
complete -c keyward -n "__fish_keyward_using_subcommand help; and __fish_seen_subcommand_from generate" -f -a "man" -d 'Write man pages (keyward.1, keyward-keys-create.1, …) into DIR'
