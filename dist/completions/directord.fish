complete -c directord -s f -l use-file -l config -d 'Configuration file. Default: /etc/director/director.conf, or /etc/keepalived/keepalived.conf when only that exists' -r -F
complete -c directord -s i -l config-id -d 'keepalived\'s config-id: lines prefixed `@ID` are read only when ID matches, lines prefixed `@^ID` only when it does not. Without it every `@ID` line is skipped' -r
complete -c directord -s l -l log-level -d 'Log level: error, warn, info, debug, trace, or a tracing filter such as `info,ospf=debug`. Overridden by the RUST_LOG environment variable' -r
complete -c directord -l log-format -d 'Log line format' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line (for log shippers)'"
complete -c directord -l runtime-dir -d 'Directory for runtime state: the control socket (unless the configuration sets `control_socket`) and the records of which kernel objects this daemon created. Give each daemon its own when several run on one host (e.g. in namespaces)' -r -F
complete -c directord -s t -l config-test -d 'Check the configuration, print warnings and errors, and exit (0 = valid, 1 = invalid)'
complete -c directord -l dump-config -d 'Print the typed configuration, with every default filled in and secrets redacted, as JSON and exit'
complete -c directord -s h -l help -d 'Print help (see more with \'--help\')'
complete -c directord -s V -l version -d 'Print version'
