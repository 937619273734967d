# Integration tests of the clients (clients/): libraftlog through a small C
# driver, the raftlog command line, and the Python client, all against real
# 3-node clusters. Included from tests/integration/CMakeLists.txt, where
# RL_PYTHON is set and raftlog-node exists. One ctest entry per test
# function of test_clients.py, named clients_<function>, label integration.
if(NOT TARGET raftlog OR NOT TARGET raftlog_static)
  return()
endif()
add_executable(client_driver ${CMAKE_CURRENT_LIST_DIR}/client_driver.c)
target_link_libraries(client_driver PRIVATE raftlog_static)

rl_add_python_tests(clients ${CMAKE_CURRENT_LIST_DIR}/test_clients.py 120
                    --node $<TARGET_FILE:raftlog-node>
                    --cli $<TARGET_FILE:raftlog>
                    --driver $<TARGET_FILE:client_driver>
                    --python-dir ${PROJECT_SOURCE_DIR}/clients/python)

# CURVE from the clients' side (test_clients_curve.py, issue 14): raftlog
# keygen, and the three clients against a CURVE stand-in server (pyzmq's
# ZAP handler): allowed and refused keys, FORBIDDEN. No node needed.
# Entries clients_curve_<function>.
rl_add_python_tests(clients_curve ${CMAKE_CURRENT_LIST_DIR}/test_clients_curve.py
                    60
                    --cli $<TARGET_FILE:raftlog>
                    --driver $<TARGET_FILE:client_driver>
                    --python-dir ${PROJECT_SOURCE_DIR}/clients/python
                    --readme ${PROJECT_SOURCE_DIR}/README.md)

# libraftlog as users get it (test_install.py): cmake --install into a
# temporary prefix, the README's C example built with only the installed
# raftlog.pc, then run against a real cluster. The example is compiled by
# the compiler this build uses and linked with this build's link options:
# a sanitized (or coverage) library calls a runtime that only an executable
# linked with the same -fsanitize (or --coverage) flags provides. In a plain
# build they are empty and the command is the README's (plus -Werror).
include(GNUInstallDirs)
get_property(rl_link_options DIRECTORY PROPERTY LINK_OPTIONS)
string(JOIN " " rl_link_flags ${CMAKE_C_FLAGS} ${rl_link_options})
rl_add_python_tests(clients ${CMAKE_CURRENT_LIST_DIR}/test_install.py 180
                    --node $<TARGET_FILE:raftlog-node>
                    --cmake ${CMAKE_COMMAND}
                    --build-dir ${CMAKE_BINARY_DIR}
                    --libdir ${CMAKE_INSTALL_LIBDIR}
                    --cc ${CMAKE_C_COMPILER}
                    "--link-flags=${rl_link_flags}"
                    --example
                    ${PROJECT_SOURCE_DIR}/clients/examples/append_and_tail.c)

# The command line as a new user meets it (test_cli.py, issue 13): quick
# and clear failures, outcomes, status and health, the README's example of
# $RAFTLOG_ENDPOINTS, oversized input, JSON. Entries cli_<function>.
rl_add_python_tests(cli ${CMAKE_CURRENT_LIST_DIR}/test_cli.py 120
                    --node $<TARGET_FILE:raftlog-node>
                    --cli $<TARGET_FILE:raftlog>
                    --readme ${PROJECT_SOURCE_DIR}/README.md)

# scripts/run with this build's binaries, on free ports (test_cli_run.py,
# issue 13): a node that dies leaves the others running and can be
# started again. Entries cli_run_<function>.
if(TARGET raftlog-broker)
  rl_add_python_tests(cli_run ${CMAKE_CURRENT_LIST_DIR}/test_cli_run.py 180
                      --run ${PROJECT_SOURCE_DIR}/scripts/run
                      --bin ${CMAKE_BINARY_DIR}
                      --cli $<TARGET_FILE:raftlog>)
endif()

# Entry times and durable consumers (test_consumers.py, issue 17): times
# through the three clients, reading from a time across segments,
# retention by age, a consumer killed mid-tail resuming at least once,
# Ctrl-C, the consumers command and its roles, a new leader, a broker.
# Entries consumers_<function>.
set(rl_consumers_broker "")
if(TARGET raftlog-broker)
  set(rl_consumers_broker --broker $<TARGET_FILE:raftlog-broker>)
endif()
rl_add_python_tests(consumers ${CMAKE_CURRENT_LIST_DIR}/test_consumers.py 180
                    --node $<TARGET_FILE:raftlog-node>
                    --cli $<TARGET_FILE:raftlog>
                    --driver $<TARGET_FILE:client_driver>
                    --python-dir ${PROJECT_SOURCE_DIR}/clients/python
                    ${rl_consumers_broker})

# Named logs from the clients' side (test_clients_logs.py, issue 16): the
# three clients against stand-in nodes that speak the named-logs protocol
# (a request's `log`, LOGS_REQUEST/LOGS_OK, STATUS logs, NOT_LEADER's log,
# NOT_FOUND). No node needed. Entries clients_logs_<function>.
rl_add_python_tests(clients_logs ${CMAKE_CURRENT_LIST_DIR}/test_clients_logs.py
                    60
                    --cli $<TARGET_FILE:raftlog>
                    --driver $<TARGET_FILE:client_driver>
                    --python-dir ${PROJECT_SOURCE_DIR}/clients/python)

# Named logs end to end (test_logs_e2e.py, issue 16): the three clients
# against a real cluster (create, list, configure, delete, two logs at
# once, NOT_FOUND, a redirect to a log's leader, status per log). Labels
# integration and logs_e2e (`ctest -L logs_e2e` runs them alone). Entries
# logs_e2e_<function>.
execute_process(COMMAND ${RL_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/test_logs_e2e.py
                        --list
                OUTPUT_VARIABLE rl_logs_e2e OUTPUT_STRIP_TRAILING_WHITESPACE)
string(REPLACE "\n" ";" rl_logs_e2e "${rl_logs_e2e}")
foreach(name ${rl_logs_e2e})
  add_test(NAME logs_e2e_${name}
           COMMAND ${RL_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/test_logs_e2e.py
                   --node $<TARGET_FILE:raftlog-node>
                   --cli $<TARGET_FILE:raftlog>
                   --driver $<TARGET_FILE:client_driver>
                   --python-dir ${PROJECT_SOURCE_DIR}/clients/python ${name})
  set_tests_properties(logs_e2e_${name} PROPERTIES
                       LABELS "integration;logs_e2e" TIMEOUT 180)
endforeach()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${CMAKE_CURRENT_LIST_DIR}/test_logs_e2e.py)
