# MODELKEEP_SANITIZE="address;undefined" (or "address,undefined") builds everything with those sanitizers.
set(MODELKEEP_SANITIZE "" CACHE STRING "Sanitizers to enable, e.g. address;undefined")
if(MODELKEEP_SANITIZE)
  string(REPLACE ";" "," _modelkeep_sanitizers "${MODELKEEP_SANITIZE}")
  add_compile_options(-fsanitize=${_modelkeep_sanitizers} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_modelkeep_sanitizers})
endif()
