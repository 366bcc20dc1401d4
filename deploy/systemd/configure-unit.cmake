# Run by `cmake --install`: points the unit at the binary and configuration of this
# installation, whose prefix is only known now (--prefix may differ from configure time).
# Given: unit_source, work_dir, bindir, sysconfdir (GNUInstallDirs, maybe relative).
function(full_path dir out)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}" PARENT_SCOPE)
  elseif(dir STREQUAL "etc" AND CMAKE_INSTALL_PREFIX MATCHES "^/(usr/?)?$")
    set(${out} "/etc" PARENT_SCOPE)  # as GNUInstallDirs: a /usr install is configured in /etc
  else()
    set(${out} "${CMAKE_INSTALL_PREFIX}/${dir}" PARENT_SCOPE)
  endif()
endfunction()

full_path("${bindir}" full_bindir)
full_path("${sysconfdir}" full_sysconfdir)
file(READ "${unit_source}" unit_text)
string(REPLACE "/usr/bin/" "${full_bindir}/" unit_text "${unit_text}")
string(REPLACE "/etc/cargomon/" "${full_sysconfdir}/cargomon/" unit_text "${unit_text}")
# One work file per prefix: installs into different prefixes may run at the same time.
string(MD5 prefix_hash "${CMAKE_INSTALL_PREFIX}")
file(WRITE "${work_dir}/${prefix_hash}/cargomon.service" "${unit_text}")
file(INSTALL "${work_dir}/${prefix_hash}/cargomon.service" DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
