complete --keep-order --exclusive --command keyward --arguments "(KEYWARD_COMPLETE=fish keyward -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
