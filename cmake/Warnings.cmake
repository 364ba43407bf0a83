# Warnings for project targets: modelkeep_warnings(<target>).
option(MODELKEEP_WERROR "Treat warnings as errors (on in CI)" OFF)
# Not in sanitizer builds: there GCC's flow analysis reports false "may be used uninitialized"
# inside the standard library (std::regex); the normal build holds the line on warnings.
if(DEFINED ENV{CI} AND "$ENV{CI}" STREQUAL "true" AND NOT MODELKEEP_SANITIZE)
  set(MODELKEEP_WERROR ON CACHE BOOL "" FORCE)
endif()

function(modelkeep_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual
                                           -Wnull-dereference -Wformat=2)
  if(MODELKEEP_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# For targets that include CLI11: GCC 12 reports "potential null pointer dereference" inside
# CLI11's inline string helpers depending on how they are inlined into the caller (a false
# positive in a system header); the check stays on for every other target.
function(modelkeep_uses_cli11 target)
  target_compile_options(${target} PRIVATE -Wno-null-dereference)
endfunction()
