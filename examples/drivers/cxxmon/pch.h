// pch.h: the precompiled header of the cxxmon driver, as Visual Studio's driver templates have it.
#pragma once
#include <ntddk.h>
