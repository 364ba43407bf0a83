# Man pages and bash completion, generated at build time by the tools themselves from the same
# CLI11 definitions as --help (common/app/manual.cpp), so that they cannot drift.
# build/man/<tool>[-<subcommand>...].1 and build/completion/<tool>; installed by make install.
function(modelkeep_manual tool)
  set(stamp "${CMAKE_BINARY_DIR}/man/${tool}.stamp")
  add_custom_command(
    OUTPUT "${stamp}"
    COMMAND ${tool} --generate-man "${CMAKE_BINARY_DIR}/man"
    COMMAND ${tool} --generate-completion bash "${CMAKE_BINARY_DIR}/completion/${tool}"
    COMMAND ${CMAKE_COMMAND} -E touch "${stamp}"
    DEPENDS ${tool}
    COMMENT "Generating the man pages and bash completion of ${tool}"
    VERBATIM)
  add_custom_target(${tool}-manual ALL DEPENDS "${stamp}")
  install(DIRECTORY "${CMAKE_BINARY_DIR}/man/" DESTINATION share/man/man1 FILES_MATCHING PATTERN "${tool}*.1")
  install(FILES "${CMAKE_BINARY_DIR}/completion/${tool}" DESTINATION share/bash-completion/completions)
endfunction()
