//! Command-line definitions of `directord` and `directorctl`, and rendering of their output.
