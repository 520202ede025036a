# Hardening: backend faults, hostile clients, and the check that no log holds a secret.
# Included by tests/CMakeLists.txt (every tests/integration/*.cmake is).
#
# The secrets check reads the logs every other integration test left behind, so:
#  - every integration test keeps its temp dirs (GHOSTGATE_KEEP_TMP=1) under one directory,
#    ${CMAKE_BINARY_DIR}/it-tmp (GHOSTGATE_TEST_TMP), emptied of an earlier run's dirs by the
#    fixture test integration.logs.clean before any of them starts;
#  - integration.hardening.secrets DEPENDS on every other integration test, so ctest starts it
#    last (DEPENDS orders without requiring the others to pass: a failure elsewhere does not
#    hide the secrets result), scans that directory and ctest's Testing/Temporary, then deletes
#    the kept MariaDB datadirs (the logs stay for inspection).
# The list of tests is only complete once tests/CMakeLists.txt and every *.cmake has run, hence
# cmake_language(DEFER).
#
# Run as a script (cmake -DGHOSTGATE_IT_TMP=DIR -P hardening.cmake) it does the cleaning.

if(CMAKE_SCRIPT_MODE_FILE)
  if(NOT GHOSTGATE_IT_TMP)
    message(FATAL_ERROR "hardening.cmake: set -DGHOSTGATE_IT_TMP=DIR")
  endif()
  # Only the per-process temp dirs: the stand-in's template datadir is kept (slow to build).
  file(GLOB stale LIST_DIRECTORIES true "${GHOSTGATE_IT_TMP}/ghostgate-it-*"
       "${GHOSTGATE_IT_TMP}/ghostgate-secrets-selftest-*")
  if(stale)
    file(REMOVE_RECURSE ${stale})
  endif()
  file(MAKE_DIRECTORY "${GHOSTGATE_IT_TMP}")
  return()
endif()

set(GHOSTGATE_IT_TMP "${CMAKE_BINARY_DIR}/it-tmp" CACHE PATH
  "Where integration tests keep their temp dirs (logs) for the secrets check")

ghostgate_it_test(integration.hardening.faults integration/test_faults.py 300)
ghostgate_it_test(integration.hardening.hostile integration/test_hostile.py 300)
ghostgate_it_test(integration.hardening.secrets integration/test_secrets.py 300)

add_test(NAME integration.logs.clean
  COMMAND ${CMAKE_COMMAND} -DGHOSTGATE_IT_TMP=${GHOSTGATE_IT_TMP} -P ${CMAKE_CURRENT_LIST_FILE})
set_tests_properties(integration.logs.clean PROPERTIES
  LABELS integration FIXTURES_SETUP ghostgate_it_logs TIMEOUT 120)

function(ghostgate_hardening_wire_logs)
  get_property(all_tests DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR} PROPERTY TESTS)
  set(others)
  foreach(t IN LISTS all_tests)
    get_test_property(${t} LABELS labels)
    if(NOT "integration" IN_LIST labels OR t STREQUAL "integration.logs.clean")
      continue()
    endif()
    set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT
      "GHOSTGATE_KEEP_TMP=1" "GHOSTGATE_TEST_TMP=${GHOSTGATE_IT_TMP}")
    set_property(TEST ${t} APPEND PROPERTY FIXTURES_REQUIRED ghostgate_it_logs)
    if(NOT t STREQUAL "integration.hardening.secrets")
      list(APPEND others ${t})
    endif()
  endforeach()
  set_property(TEST integration.hardening.secrets APPEND PROPERTY DEPENDS ${others})
  set_property(TEST integration.hardening.secrets APPEND PROPERTY ENVIRONMENT
    "GHOSTGATE_SECRETS_SCAN=${GHOSTGATE_IT_TMP}:${CMAKE_BINARY_DIR}/Testing/Temporary"
    "GHOSTGATE_SECRETS_PRUNE=1")
endfunction()
cmake_language(DEFER CALL ghostgate_hardening_wire_logs)
