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

execute_process(COMMAND ${RL_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/test_clients.py
                        --list
                OUTPUT_VARIABLE rl_client_tests
                OUTPUT_STRIP_TRAILING_WHITESPACE
                RESULT_VARIABLE rl_client_listed)
if(NOT rl_client_listed EQUAL 0)
  message(FATAL_ERROR "cannot list the client integration tests")
endif()
string(REPLACE "\n" ";" rl_client_tests "${rl_client_tests}")
foreach(name ${rl_client_tests})
  add_test(NAME clients_${name}
           COMMAND ${RL_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/test_clients.py
                   --node $<TARGET_FILE:raftlog-node>
                   --cli $<TARGET_FILE:raftlog>
                   --driver $<TARGET_FILE:client_driver>
                   --python-dir ${PROJECT_SOURCE_DIR}/clients/python
                   ${name})
  set_tests_properties(clients_${name} PROPERTIES LABELS integration
                       TIMEOUT 120)
endforeach()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${CMAKE_CURRENT_LIST_DIR}/test_clients.py)

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
execute_process(COMMAND ${RL_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/test_install.py
                        --list
                OUTPUT_VARIABLE rl_install_tests
                OUTPUT_STRIP_TRAILING_WHITESPACE
                RESULT_VARIABLE rl_install_listed)
if(NOT rl_install_listed EQUAL 0)
  message(FATAL_ERROR "cannot list the install integration tests")
endif()
string(REPLACE "\n" ";" rl_install_tests "${rl_install_tests}")
foreach(name ${rl_install_tests})
  add_test(NAME clients_${name}
           COMMAND ${RL_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/test_install.py
                   --node $<TARGET_FILE:raftlog-node>
                   --cmake ${CMAKE_COMMAND}
                   --build-dir ${CMAKE_BINARY_DIR}
                   --libdir ${CMAKE_INSTALL_LIBDIR}
                   --cc ${CMAKE_C_COMPILER}
                   "--link-flags=${rl_link_flags}"
                   --example ${PROJECT_SOURCE_DIR}/clients/examples/append_and_tail.c
                   ${name})
  set_tests_properties(clients_${name} PROPERTIES LABELS integration
                       TIMEOUT 180)
endforeach()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${CMAKE_CURRENT_LIST_DIR}/test_install.py)
