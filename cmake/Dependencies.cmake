# Every dependency comes from a Debian package (see scripts/install-deps.sh).
find_package(OpenSSL 3 REQUIRED COMPONENTS Crypto)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 2.1 REQUIRED)
find_package(Threads REQUIRED)
find_package(LibArchive 3.4 REQUIRED)
find_package(simdjson 3 REQUIRED) # the list index of many thousands of versions (docs/DESIGN.md)
find_package(Boost 1.74 REQUIRED) # header-only: Beast for `model-versioner serve`
if(MODELKEEP_BUILD_TESTS)
  find_package(doctest 2.4 REQUIRED)
endif()

# LibTorch (Debian's libtorch-dev) only for consolidate-model.
if(MODELKEEP_WITH_TORCH AND NOT MODELKEEP_FUZZ)
  find_package(Torch REQUIRED)
endif()
