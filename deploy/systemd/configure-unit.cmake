# Run by `cmake --install`: points the unit at the binary and configuration of this
# installation, whose prefix is only known now (--prefix may differ from configure time).
# Given: unit_source, unit_output, bindir, sysconfdir (GNUInstallDirs, maybe relative).
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
file(WRITE "${unit_output}" "${unit_text}")
