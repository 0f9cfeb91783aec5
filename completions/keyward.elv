
set edit:completion:arg-completer[keyward] = { |@words|
    var index = (count $words)
    set index = (- $index 1)

    put (env _CLAP_IFS="\n" _CLAP_COMPLETE_INDEX=(to-string $index) KEYWARD_COMPLETE="elvish" keyward -- $@words) | to-lines
}

