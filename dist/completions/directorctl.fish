# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_directorctl_global_optspecs
    string join \n s/socket= f/config= j/json h/help V/version
end

function __fish_directorctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_directorctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_directorctl_using_subcommand
    set -l cmd (__fish_directorctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c directorctl -n "__fish_directorctl_needs_command" -s s -l socket -d 'Control socket of the daemon. Default: `control_socket` from the configuration file (see --config), else /run/director/directord.sock' -r -F
complete -c directorctl -n "__fish_directorctl_needs_command" -s f -l config -d 'Configuration file whose `director { control_socket }` names the socket' -r -F
complete -c directorctl -n "__fish_directorctl_needs_command" -s j -l json -d 'Print the daemon\'s answer as JSON instead of a table'
complete -c directorctl -n "__fish_directorctl_needs_command" -s h -l help -d 'Print help'
complete -c directorctl -n "__fish_directorctl_needs_command" -s V -l version -d 'Print version'
complete -c directorctl -n "__fish_directorctl_needs_command" -f -a "status" -d 'Overview: mode, configuration file, uptime, VIPs and whether each is announced'
complete -c directorctl -n "__fish_directorctl_needs_command" -f -a "services" -d 'Virtual services and real servers as the kernel holds them, in `ipvsadm -Ln`\'s layout, each configured real server with its health'
complete -c directorctl -n "__fish_directorctl_needs_command" -f -a "connections" -d 'The dataplane\'s connection entries, like `ipvsadm -Lnc`: IPVS\'s connection table, or for nftables the kernel\'s conntrack entries towards the services (NAT only)'
complete -c directorctl -n "__fish_directorctl_needs_command" -f -a "ospf" -d 'The OSPF speaker: interfaces, neighbors, LSDB'
complete -c directorctl -n "__fish_directorctl_needs_command" -f -a "vrrp" -d 'VRRP instances: state, priority, master, counters'
complete -c directorctl -n "__fish_directorctl_needs_command" -f -a "bfd" -d 'BFD sessions (to OSPF neighbors and of `bfd_instance`s): state, negotiated timers, last Down reason'
complete -c directorctl -n "__fish_directorctl_needs_command" -f -a "reload" -d 'Re-read the configuration file and apply only what changed (like SIGHUP); prints the errors and leaves the running state alone when the file is invalid'
complete -c directorctl -n "__fish_directorctl_needs_command" -f -a "config" -d 'The running configuration as JSON, with defaults filled in and secrets redacted'
complete -c directorctl -n "__fish_directorctl_needs_command" -f -a "metrics" -d 'Counters and gauges in the Prometheus text format'
complete -c directorctl -n "__fish_directorctl_needs_command" -f -a "withdraw" -d 'Stop announcing VIP over OSPF (the routers send its traffic to the other directors); its tables stay, so connections still arriving are served. Kept across reloads and restarts until `announce`'
complete -c directorctl -n "__fish_directorctl_needs_command" -f -a "announce" -d 'Undo `withdraw`: VIP is announced again while one of its services holds its quorum'
complete -c directorctl -n "__fish_directorctl_needs_command" -f -a "drain" -d 'Set a real server\'s weight to 0 in a service (established connections finish, no new ones), or with --all withdraw every VIP of this director (for a rolling upgrade). Kept across reloads and restarts until `undrain`'
complete -c directorctl -n "__fish_directorctl_needs_command" -f -a "undrain" -d 'Undo `drain`'
complete -c directorctl -n "__fish_directorctl_needs_command" -f -a "realserver" -d 'Run on an LVS-DR real server (needs no daemon): the VIP as a /32 on lo, and ARP switches so the real server never answers ARP for it (arp_ignore=1, arp_announce=2 on lo and all). Idempotent; says what it changed'
complete -c directorctl -n "__fish_directorctl_needs_command" -f -a "check-config" -d 'Check a configuration file as `directord -t` does (needs no daemon): warnings and errors with file:line:col; exit 0 when valid, 1 when not'
complete -c directorctl -n "__fish_directorctl_needs_command" -f -a "genhash" -d 'Fetch a page as HTTP_GET/SSL_GET would and print the MD5 of its body with a ready-to-paste `digest` line (keepalived\'s genhash). Needs no daemon'
complete -c directorctl -n "__fish_directorctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c directorctl -n "__fish_directorctl_using_subcommand status" -s j -l json -d 'Print the daemon\'s answer as JSON instead of a table'
complete -c directorctl -n "__fish_directorctl_using_subcommand status" -s h -l help -d 'Print help'
complete -c directorctl -n "__fish_directorctl_using_subcommand services" -l stats -d 'Connection, packet and byte counters (like `ipvsadm -Ln --stats`)'
complete -c directorctl -n "__fish_directorctl_using_subcommand services" -l rate -d 'Connections, packets and bytes per second (like `ipvsadm -Ln --rate`; IPVS only, nftables keeps no rates)'
complete -c directorctl -n "__fish_directorctl_using_subcommand services" -l timeout -d 'The IPVS tcp, tcpfin and udp timeouts (like `ipvsadm -L --timeout`)'
complete -c directorctl -n "__fish_directorctl_using_subcommand services" -l diff -d 'Compare the desired tables with the kernel\'s: services, real servers and weights missing, extra or different. Exit 1 when they differ'
complete -c directorctl -n "__fish_directorctl_using_subcommand services" -s j -l json -d 'Print the daemon\'s answer as JSON instead of a table'
complete -c directorctl -n "__fish_directorctl_using_subcommand services" -s h -l help -d 'Print help'
complete -c directorctl -n "__fish_directorctl_using_subcommand connections" -s j -l json -d 'Print the daemon\'s answer as JSON instead of a table'
complete -c directorctl -n "__fish_directorctl_using_subcommand connections" -s h -l help -d 'Print help'
complete -c directorctl -n "__fish_directorctl_using_subcommand ospf; and not __fish_seen_subcommand_from interfaces neighbors database counters help" -s j -l json -d 'Print the daemon\'s answer as JSON instead of a table'
complete -c directorctl -n "__fish_directorctl_using_subcommand ospf; and not __fish_seen_subcommand_from interfaces neighbors database counters help" -s h -l help -d 'Print help'
complete -c directorctl -n "__fish_directorctl_using_subcommand ospf; and not __fish_seen_subcommand_from interfaces neighbors database counters help" -f -a "interfaces" -d 'Interfaces with their state, DR and BDR'
complete -c directorctl -n "__fish_directorctl_using_subcommand ospf; and not __fish_seen_subcommand_from interfaces neighbors database counters help" -f -a "neighbors" -d 'Neighbors with their state'
complete -c directorctl -n "__fish_directorctl_using_subcommand ospf; and not __fish_seen_subcommand_from interfaces neighbors database counters help" -f -a "database" -d 'The link-state database, one line per LSA'
complete -c directorctl -n "__fish_directorctl_using_subcommand ospf; and not __fish_seen_subcommand_from interfaces neighbors database counters help" -f -a "counters" -d 'Packets received and sent per type, and dropped per reason'
complete -c directorctl -n "__fish_directorctl_using_subcommand ospf; and not __fish_seen_subcommand_from interfaces neighbors database counters help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c directorctl -n "__fish_directorctl_using_subcommand ospf; and __fish_seen_subcommand_from interfaces" -s j -l json -d 'Print the daemon\'s answer as JSON instead of a table'
complete -c directorctl -n "__fish_directorctl_using_subcommand ospf; and __fish_seen_subcommand_from interfaces" -s h -l help -d 'Print help'
complete -c directorctl -n "__fish_directorctl_using_subcommand ospf; and __fish_seen_subcommand_from neighbors" -s j -l json -d 'Print the daemon\'s answer as JSON instead of a table'
complete -c directorctl -n "__fish_directorctl_using_subcommand ospf; and __fish_seen_subcommand_from neighbors" -s h -l help -d 'Print help'
complete -c directorctl -n "__fish_directorctl_using_subcommand ospf; and __fish_seen_subcommand_from database" -s j -l json -d 'Print the daemon\'s answer as JSON instead of a table'
complete -c directorctl -n "__fish_directorctl_using_subcommand ospf; and __fish_seen_subcommand_from database" -s h -l help -d 'Print help'
complete -c directorctl -n "__fish_directorctl_using_subcommand ospf; and __fish_seen_subcommand_from counters" -s j -l json -d 'Print the daemon\'s answer as JSON instead of a table'
complete -c directorctl -n "__fish_directorctl_using_subcommand ospf; and __fish_seen_subcommand_from counters" -s h -l help -d 'Print help'
complete -c directorctl -n "__fish_directorctl_using_subcommand ospf; and __fish_seen_subcommand_from help" -f -a "interfaces" -d 'Interfaces with their state, DR and BDR'
complete -c directorctl -n "__fish_directorctl_using_subcommand ospf; and __fish_seen_subcommand_from help" -f -a "neighbors" -d 'Neighbors with their state'
complete -c directorctl -n "__fish_directorctl_using_subcommand ospf; and __fish_seen_subcommand_from help" -f -a "database" -d 'The link-state database, one line per LSA'
complete -c directorctl -n "__fish_directorctl_using_subcommand ospf; and __fish_seen_subcommand_from help" -f -a "counters" -d 'Packets received and sent per type, and dropped per reason'
complete -c directorctl -n "__fish_directorctl_using_subcommand ospf; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c directorctl -n "__fish_directorctl_using_subcommand vrrp" -s j -l json -d 'Print the daemon\'s answer as JSON instead of a table'
complete -c directorctl -n "__fish_directorctl_using_subcommand vrrp" -s h -l help -d 'Print help'
complete -c directorctl -n "__fish_directorctl_using_subcommand bfd" -s j -l json -d 'Print the daemon\'s answer as JSON instead of a table'
complete -c directorctl -n "__fish_directorctl_using_subcommand bfd" -s h -l help -d 'Print help'
complete -c directorctl -n "__fish_directorctl_using_subcommand reload" -s j -l json -d 'Print the daemon\'s answer as JSON instead of a table'
complete -c directorctl -n "__fish_directorctl_using_subcommand reload" -s h -l help -d 'Print help'
complete -c directorctl -n "__fish_directorctl_using_subcommand config" -s j -l json -d 'Print the daemon\'s answer as JSON instead of a table'
complete -c directorctl -n "__fish_directorctl_using_subcommand config" -s h -l help -d 'Print help'
complete -c directorctl -n "__fish_directorctl_using_subcommand metrics" -s j -l json -d 'Print the daemon\'s answer as JSON instead of a table'
complete -c directorctl -n "__fish_directorctl_using_subcommand metrics" -s h -l help -d 'Print help'
complete -c directorctl -n "__fish_directorctl_using_subcommand withdraw" -s j -l json -d 'Print the daemon\'s answer as JSON instead of a table'
complete -c directorctl -n "__fish_directorctl_using_subcommand withdraw" -s h -l help -d 'Print help'
complete -c directorctl -n "__fish_directorctl_using_subcommand announce" -s j -l json -d 'Print the daemon\'s answer as JSON instead of a table'
complete -c directorctl -n "__fish_directorctl_using_subcommand announce" -s h -l help -d 'Print help'
complete -c directorctl -n "__fish_directorctl_using_subcommand drain" -l all -d 'Drain the whole director: withdraw every VIP, keep the tables'
complete -c directorctl -n "__fish_directorctl_using_subcommand drain" -l wait -d 'With --all: then wait until no active connection is left (IPVS counts them) and say so; Ctrl-C stops waiting, not the drain'
complete -c directorctl -n "__fish_directorctl_using_subcommand drain" -s j -l json -d 'Print the daemon\'s answer as JSON instead of a table'
complete -c directorctl -n "__fish_directorctl_using_subcommand drain" -s h -l help -d 'Print help'
complete -c directorctl -n "__fish_directorctl_using_subcommand undrain" -l all -d 'Undo `drain --all`: announce the VIPs again'
complete -c directorctl -n "__fish_directorctl_using_subcommand undrain" -s j -l json -d 'Print the daemon\'s answer as JSON instead of a table'
complete -c directorctl -n "__fish_directorctl_using_subcommand undrain" -s h -l help -d 'Print help'
complete -c directorctl -n "__fish_directorctl_using_subcommand realserver; and not __fish_seen_subcommand_from setup teardown check help" -s j -l json -d 'Print the daemon\'s answer as JSON instead of a table'
complete -c directorctl -n "__fish_directorctl_using_subcommand realserver; and not __fish_seen_subcommand_from setup teardown check help" -s h -l help -d 'Print help'
complete -c directorctl -n "__fish_directorctl_using_subcommand realserver; and not __fish_seen_subcommand_from setup teardown check help" -f -a "setup" -d 'Add what is missing'
complete -c directorctl -n "__fish_directorctl_using_subcommand realserver; and not __fish_seen_subcommand_from setup teardown check help" -f -a "teardown" -d 'Remove the VIPs; reset the ARP switches to 0 once no VIP it added is left'
complete -c directorctl -n "__fish_directorctl_using_subcommand realserver; and not __fish_seen_subcommand_from setup teardown check help" -f -a "check" -d 'Exit 0 when everything is in place, else 1 and list what is missing'
complete -c directorctl -n "__fish_directorctl_using_subcommand realserver; and not __fish_seen_subcommand_from setup teardown check help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c directorctl -n "__fish_directorctl_using_subcommand realserver; and __fish_seen_subcommand_from setup" -l vip -d 'A VIP this real server serves (repeat for several)' -r
complete -c directorctl -n "__fish_directorctl_using_subcommand realserver; and __fish_seen_subcommand_from setup" -s j -l json -d 'Print the daemon\'s answer as JSON instead of a table'
complete -c directorctl -n "__fish_directorctl_using_subcommand realserver; and __fish_seen_subcommand_from setup" -s h -l help -d 'Print help'
complete -c directorctl -n "__fish_directorctl_using_subcommand realserver; and __fish_seen_subcommand_from teardown" -l vip -d 'A VIP this real server serves (repeat for several)' -r
complete -c directorctl -n "__fish_directorctl_using_subcommand realserver; and __fish_seen_subcommand_from teardown" -s j -l json -d 'Print the daemon\'s answer as JSON instead of a table'
complete -c directorctl -n "__fish_directorctl_using_subcommand realserver; and __fish_seen_subcommand_from teardown" -s h -l help -d 'Print help'
complete -c directorctl -n "__fish_directorctl_using_subcommand realserver; and __fish_seen_subcommand_from check" -l vip -d 'A VIP this real server serves (repeat for several)' -r
complete -c directorctl -n "__fish_directorctl_using_subcommand realserver; and __fish_seen_subcommand_from check" -s j -l json -d 'Print the daemon\'s answer as JSON instead of a table'
complete -c directorctl -n "__fish_directorctl_using_subcommand realserver; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help'
complete -c directorctl -n "__fish_directorctl_using_subcommand realserver; and __fish_seen_subcommand_from help" -f -a "setup" -d 'Add what is missing'
complete -c directorctl -n "__fish_directorctl_using_subcommand realserver; and __fish_seen_subcommand_from help" -f -a "teardown" -d 'Remove the VIPs; reset the ARP switches to 0 once no VIP it added is left'
complete -c directorctl -n "__fish_directorctl_using_subcommand realserver; and __fish_seen_subcommand_from help" -f -a "check" -d 'Exit 0 when everything is in place, else 1 and list what is missing'
complete -c directorctl -n "__fish_directorctl_using_subcommand realserver; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c directorctl -n "__fish_directorctl_using_subcommand check-config" -s i -l config-id -d 'keepalived\'s config-id, as `directord -i`' -r
complete -c directorctl -n "__fish_directorctl_using_subcommand check-config" -s j -l json -d 'Print the daemon\'s answer as JSON instead of a table'
complete -c directorctl -n "__fish_directorctl_using_subcommand check-config" -s h -l help -d 'Print help'
complete -c directorctl -n "__fish_directorctl_using_subcommand genhash" -l virtualhost -d 'Host header, as a checker\'s `virtualhost`. Default: the URL\'s host when it is a name; for an address, the address and port (as checkers without a virtualhost)' -r
complete -c directorctl -n "__fish_directorctl_using_subcommand genhash" -l http-protocol -d '1.0, 1.0C (1.0 with `Connection: close`) or 1.1, as `http_protocol`' -r
complete -c directorctl -n "__fish_directorctl_using_subcommand genhash" -l timeout -d 'Limit of each step (connect, TLS handshake, each read), as `connect_timeout`; the whole fetch may take twice that' -r
complete -c directorctl -n "__fish_directorctl_using_subcommand genhash" -l sni -d 'https: send NAME as SNI (as `enable_sni` with `sni_name`). Without it no SNI is sent' -r
complete -c directorctl -n "__fish_directorctl_using_subcommand genhash" -s j -l json -d 'Print the daemon\'s answer as JSON instead of a table'
complete -c directorctl -n "__fish_directorctl_using_subcommand genhash" -s h -l help -d 'Print help'
complete -c directorctl -n "__fish_directorctl_using_subcommand help; and not __fish_seen_subcommand_from status services connections ospf vrrp bfd reload config metrics withdraw announce drain undrain realserver check-config genhash help" -f -a "status" -d 'Overview: mode, configuration file, uptime, VIPs and whether each is announced'
complete -c directorctl -n "__fish_directorctl_using_subcommand help; and not __fish_seen_subcommand_from status services connections ospf vrrp bfd reload config metrics withdraw announce drain undrain realserver check-config genhash help" -f -a "services" -d 'Virtual services and real servers as the kernel holds them, in `ipvsadm -Ln`\'s layout, each configured real server with its health'
complete -c directorctl -n "__fish_directorctl_using_subcommand help; and not __fish_seen_subcommand_from status services connections ospf vrrp bfd reload config metrics withdraw announce drain undrain realserver check-config genhash help" -f -a "connections" -d 'The dataplane\'s connection entries, like `ipvsadm -Lnc`: IPVS\'s connection table, or for nftables the kernel\'s conntrack entries towards the services (NAT only)'
complete -c directorctl -n "__fish_directorctl_using_subcommand help; and not __fish_seen_subcommand_from status services connections ospf vrrp bfd reload config metrics withdraw announce drain undrain realserver check-config genhash help" -f -a "ospf" -d 'The OSPF speaker: interfaces, neighbors, LSDB'
complete -c directorctl -n "__fish_directorctl_using_subcommand help; and not __fish_seen_subcommand_from status services connections ospf vrrp bfd reload config metrics withdraw announce drain undrain realserver check-config genhash help" -f -a "vrrp" -d 'VRRP instances: state, priority, master, counters'
complete -c directorctl -n "__fish_directorctl_using_subcommand help; and not __fish_seen_subcommand_from status services connections ospf vrrp bfd reload config metrics withdraw announce drain undrain realserver check-config genhash help" -f -a "bfd" -d 'BFD sessions (to OSPF neighbors and of `bfd_instance`s): state, negotiated timers, last Down reason'
complete -c directorctl -n "__fish_directorctl_using_subcommand help; and not __fish_seen_subcommand_from status services connections ospf vrrp bfd reload config metrics withdraw announce drain undrain realserver check-config genhash help" -f -a "reload" -d 'Re-read the configuration file and apply only what changed (like SIGHUP); prints the errors and leaves the running state alone when the file is invalid'
complete -c directorctl -n "__fish_directorctl_using_subcommand help; and not __fish_seen_subcommand_from status services connections ospf vrrp bfd reload config metrics withdraw announce drain undrain realserver check-config genhash help" -f -a "config" -d 'The running configuration as JSON, with defaults filled in and secrets redacted'
complete -c directorctl -n "__fish_directorctl_using_subcommand help; and not __fish_seen_subcommand_from status services connections ospf vrrp bfd reload config metrics withdraw announce drain undrain realserver check-config genhash help" -f -a "metrics" -d 'Counters and gauges in the Prometheus text format'
complete -c directorctl -n "__fish_directorctl_using_subcommand help; and not __fish_seen_subcommand_from status services connections ospf vrrp bfd reload config metrics withdraw announce drain undrain realserver check-config genhash help" -f -a "withdraw" -d 'Stop announcing VIP over OSPF (the routers send its traffic to the other directors); its tables stay, so connections still arriving are served. Kept across reloads and restarts until `announce`'
complete -c directorctl -n "__fish_directorctl_using_subcommand help; and not __fish_seen_subcommand_from status services connections ospf vrrp bfd reload config metrics withdraw announce drain undrain realserver check-config genhash help" -f -a "announce" -d 'Undo `withdraw`: VIP is announced again while one of its services holds its quorum'
complete -c directorctl -n "__fish_directorctl_using_subcommand help; and not __fish_seen_subcommand_from status services connections ospf vrrp bfd reload config metrics withdraw announce drain undrain realserver check-config genhash help" -f -a "drain" -d 'Set a real server\'s weight to 0 in a service (established connections finish, no new ones), or with --all withdraw every VIP of this director (for a rolling upgrade). Kept across reloads and restarts until `undrain`'
complete -c directorctl -n "__fish_directorctl_using_subcommand help; and not __fish_seen_subcommand_from status services connections ospf vrrp bfd reload config metrics withdraw announce drain undrain realserver check-config genhash help" -f -a "undrain" -d 'Undo `drain`'
complete -c directorctl -n "__fish_directorctl_using_subcommand help; and not __fish_seen_subcommand_from status services connections ospf vrrp bfd reload config metrics withdraw announce drain undrain realserver check-config genhash help" -f -a "realserver" -d 'Run on an LVS-DR real server (needs no daemon): the VIP as a /32 on lo, and ARP switches so the real server never answers ARP for it (arp_ignore=1, arp_announce=2 on lo and all). Idempotent; says what it changed'
complete -c directorctl -n "__fish_directorctl_using_subcommand help; and not __fish_seen_subcommand_from status services connections ospf vrrp bfd reload config metrics withdraw announce drain undrain realserver check-config genhash help" -f -a "check-config" -d 'Check a configuration file as `directord -t` does (needs no daemon): warnings and errors with file:line:col; exit 0 when valid, 1 when not'
complete -c directorctl -n "__fish_directorctl_using_subcommand help; and not __fish_seen_subcommand_from status services connections ospf vrrp bfd reload config metrics withdraw announce drain undrain realserver check-config genhash help" -f -a "genhash" -d 'Fetch a page as HTTP_GET/SSL_GET would and print the MD5 of its body with a ready-to-paste `digest` line (keepalived\'s genhash). Needs no daemon'
complete -c directorctl -n "__fish_directorctl_using_subcommand help; and not __fish_seen_subcommand_from status services connections ospf vrrp bfd reload config metrics withdraw announce drain undrain realserver check-config genhash help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c directorctl -n "__fish_directorctl_using_subcommand help; and __fish_seen_subcommand_from ospf" -f -a "interfaces" -d 'Interfaces with their state, DR and BDR'
complete -c directorctl -n "__fish_directorctl_using_subcommand help; and __fish_seen_subcommand_from ospf" -f -a "neighbors" -d 'Neighbors with their state'
complete -c directorctl -n "__fish_directorctl_using_subcommand help; and __fish_seen_subcommand_from ospf" -f -a "database" -d 'The link-state database, one line per LSA'
complete -c directorctl -n "__fish_directorctl_using_subcommand help; and __fish_seen_subcommand_from ospf" -f -a "counters" -d 'Packets received and sent per type, and dropped per reason'
complete -c directorctl -n "__fish_directorctl_using_subcommand help; and __fish_seen_subcommand_from realserver" -f -a "setup" -d 'Add what is missing'
complete -c directorctl -n "__fish_directorctl_using_subcommand help; and __fish_seen_subcommand_from realserver" -f -a "teardown" -d 'Remove the VIPs; reset the ARP switches to 0 once no VIP it added is left'
complete -c directorctl -n "__fish_directorctl_using_subcommand help; and __fish_seen_subcommand_from realserver" -f -a "check" -d 'Exit 0 when everything is in place, else 1 and list what is missing'
