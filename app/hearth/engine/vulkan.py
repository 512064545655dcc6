"""The Vulkan devices of this computer, read from the Vulkan loader itself.

Only the standard library: the install runs this module (`python -m hearth.engine.vulkan
--gpu-present`) before Hearth is installed, to build llama.cpp's Vulkan backend only
where a GPU can use it, and `hearth doctor` lists the devices with it. A device whose
type is CPU (Mesa's lavapipe) is a Vulkan device but not a GPU: llama.cpp leaves it out
unless GGML_VK_VISIBLE_DEVICES names it, and it is never a reason to build.

Nothing here needs a GPU: without a Vulkan loader (libvulkan.so.1) the list is empty.
"""

from __future__ import annotations

import ctypes
import json
import sys
from dataclasses import asdict, dataclass
from typing import Any

# Vulkan's numbers (vulkan_core.h): structure types, device types, heap flags.
_APPLICATION_INFO = 0
_INSTANCE_CREATE_INFO = 1
_PHYSICAL_DEVICE_PROPERTIES_2 = 1000059001
_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2 = 1000059006
_PHYSICAL_DEVICE_DRIVER_PROPERTIES = 1000196000
_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES = 1000237000
_HEAP_DEVICE_LOCAL = 0x1
_API_1_2 = (1 << 22) | (2 << 12)
DEVICE_KINDS = {0: "other", 1: "integrated GPU", 2: "discrete GPU", 3: "virtual GPU", 4: "CPU"}
_MAX_MEMORY_HEAPS = 16


class _ApplicationInfo(ctypes.Structure):
    _fields_ = [
        ("sType", ctypes.c_uint32),
        ("pNext", ctypes.c_void_p),
        ("pApplicationName", ctypes.c_char_p),
        ("applicationVersion", ctypes.c_uint32),
        ("pEngineName", ctypes.c_char_p),
        ("engineVersion", ctypes.c_uint32),
        ("apiVersion", ctypes.c_uint32),
    ]


class _InstanceCreateInfo(ctypes.Structure):
    _fields_ = [
        ("sType", ctypes.c_uint32),
        ("pNext", ctypes.c_void_p),
        ("flags", ctypes.c_uint32),
        ("pApplicationInfo", ctypes.POINTER(_ApplicationInfo)),
        ("enabledLayerCount", ctypes.c_uint32),
        ("ppEnabledLayerNames", ctypes.c_void_p),
        ("enabledExtensionCount", ctypes.c_uint32),
        ("ppEnabledExtensionNames", ctypes.c_void_p),
    ]


class _DeviceProperties(ctypes.Structure):
    _fields_ = [
        ("apiVersion", ctypes.c_uint32),
        ("driverVersion", ctypes.c_uint32),
        ("vendorID", ctypes.c_uint32),
        ("deviceID", ctypes.c_uint32),
        ("deviceType", ctypes.c_uint32),
        ("deviceName", ctypes.c_char * 256),
        ("pipelineCacheUUID", ctypes.c_uint8 * 16),
        ("limits", ctypes.c_uint64 * 63),  # VkPhysicalDeviceLimits: 504 bytes, unread
        ("sparseProperties", ctypes.c_uint32 * 5),
    ]


class _DriverProperties(ctypes.Structure):
    _fields_ = [
        ("sType", ctypes.c_uint32),
        ("pNext", ctypes.c_void_p),
        ("driverID", ctypes.c_uint32),
        ("driverName", ctypes.c_char * 256),
        ("driverInfo", ctypes.c_char * 256),
        ("conformanceVersion", ctypes.c_uint8 * 4),
    ]


class _DeviceProperties2(ctypes.Structure):
    _fields_ = [
        ("sType", ctypes.c_uint32),
        ("pNext", ctypes.c_void_p),
        ("properties", _DeviceProperties),
    ]


class _MemoryHeap(ctypes.Structure):
    _fields_ = [("size", ctypes.c_uint64), ("flags", ctypes.c_uint32)]


class _MemoryProperties(ctypes.Structure):
    _fields_ = [
        ("memoryTypeCount", ctypes.c_uint32),
        ("memoryTypes", ctypes.c_uint32 * 64),  # 32 x (propertyFlags, heapIndex), unread
        ("memoryHeapCount", ctypes.c_uint32),
        ("memoryHeaps", _MemoryHeap * _MAX_MEMORY_HEAPS),
    ]


class _MemoryProperties2(ctypes.Structure):
    _fields_ = [
        ("sType", ctypes.c_uint32),
        ("pNext", ctypes.c_void_p),
        ("memoryProperties", _MemoryProperties),
    ]


class _MemoryBudget(ctypes.Structure):
    _fields_ = [
        ("sType", ctypes.c_uint32),
        ("pNext", ctypes.c_void_p),
        ("heapBudget", ctypes.c_uint64 * _MAX_MEMORY_HEAPS),
        ("heapUsage", ctypes.c_uint64 * _MAX_MEMORY_HEAPS),
    ]


class _ExtensionProperties(ctypes.Structure):
    _fields_ = [("extensionName", ctypes.c_char * 256), ("specVersion", ctypes.c_uint32)]


@dataclass(frozen=True)
class VulkanDevice:
    """One physical device as the Vulkan loader lists it (its index is llama.cpp's index
    in GGML_VK_VISIBLE_DEVICES)."""

    index: int
    name: str
    kind: str  # DEVICE_KINDS: "discrete GPU", "integrated GPU", ..., "CPU"
    driver: str  # "llvmpipe (Mesa 22.3.6 (LLVM 15.0.6))", "NVIDIA (580.95.05)"
    memory_bytes: int  # device-local heaps (an integrated GPU's share of the RAM)
    free_bytes: int | None  # what the driver's budget leaves (VK_EXT_memory_budget), if told

    @property
    def is_gpu(self) -> bool:
        return self.kind != "CPU"

    def summary(self) -> str:
        memory = f"{self.memory_bytes / 1024**3:.1f} GB"
        if self.free_bytes is not None:
            memory += f", {self.free_bytes / 1024**3:.1f} GB free"
        return f"{self.index}: {self.name} ({self.kind}; {self.driver}; {memory})"


def _load_loader() -> ctypes.CDLL | None:
    for name in ("libvulkan.so.1", "libvulkan.so", "vulkan-1.dll", "libvulkan.1.dylib"):
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


def _function(loader: ctypes.CDLL, name: str, *argtypes: Any) -> Any:
    function = getattr(loader, name)
    function.argtypes = list(argtypes)
    function.restype = ctypes.c_int32
    return function


def vulkan_devices() -> list[VulkanDevice]:
    """Every Vulkan device of this computer; [] without a Vulkan loader or driver."""
    loader = _load_loader()
    if loader is None:
        return []
    create_instance = _function(
        loader, "vkCreateInstance", ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p
    )
    destroy_instance = loader.vkDestroyInstance
    destroy_instance.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    destroy_instance.restype = None
    application = _ApplicationInfo(_APPLICATION_INFO, None, b"Hearth", 1, b"Hearth", 1, _API_1_2)
    create_info = _InstanceCreateInfo(
        _INSTANCE_CREATE_INFO, None, 0, ctypes.pointer(application), 0, None, 0, None
    )
    instance = ctypes.c_void_p()
    if create_instance(ctypes.byref(create_info), None, ctypes.byref(instance)) != 0:
        return []  # no driver at all (VK_ERROR_INCOMPATIBLE_DRIVER), or a 1.0-only loader
    try:
        return _devices_of(loader, instance)
    finally:
        destroy_instance(instance, None)


def _devices_of(loader: ctypes.CDLL, instance: ctypes.c_void_p) -> list[VulkanDevice]:
    enumerate_devices = _function(
        loader, "vkEnumeratePhysicalDevices", ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p
    )
    count = ctypes.c_uint32(0)
    if enumerate_devices(instance, ctypes.byref(count), None) != 0 or not count.value:
        return []
    handles = (ctypes.c_void_p * count.value)()
    if enumerate_devices(instance, ctypes.byref(count), handles) not in (0, 5):  # 5: incomplete
        return []
    devices = []
    for index in range(count.value):
        devices.append(_describe(loader, index, ctypes.c_void_p(handles[index])))
    return devices


def _describe(loader: ctypes.CDLL, index: int, handle: ctypes.c_void_p) -> VulkanDevice:
    get_properties2 = loader.vkGetPhysicalDeviceProperties2
    get_properties2.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    get_properties2.restype = None
    get_memory2 = loader.vkGetPhysicalDeviceMemoryProperties2
    get_memory2.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    get_memory2.restype = None

    # A 1.0 device may not fill the driver's structure: its name is then left empty.
    driver = _DriverProperties(_PHYSICAL_DEVICE_DRIVER_PROPERTIES)
    properties = _DeviceProperties2(_PHYSICAL_DEVICE_PROPERTIES_2, ctypes.addressof(driver))
    get_properties2(handle, ctypes.byref(properties))
    device = properties.properties
    driver_name = driver.driverName.decode("utf-8", "replace")
    driver_info = driver.driverInfo.decode("utf-8", "replace")
    if not driver_name:
        driver_name = f"driver version {device.driverVersion:#x}"

    budget = _MemoryBudget(_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES)
    has_budget = "VK_EXT_memory_budget" in _device_extensions(loader, handle)
    memory = _MemoryProperties2(
        _PHYSICAL_DEVICE_MEMORY_PROPERTIES_2, ctypes.addressof(budget) if has_budget else None
    )
    get_memory2(handle, ctypes.byref(memory))
    kind = DEVICE_KINDS.get(device.deviceType, "other")
    total = free = 0
    heaps = memory.memoryProperties
    for heap_index in range(min(heaps.memoryHeapCount, _MAX_MEMORY_HEAPS)):
        heap = heaps.memoryHeaps[heap_index]
        # As llama.cpp counts: an integrated GPU's heaps are all its memory.
        if kind == "integrated GPU" or heap.flags & _HEAP_DEVICE_LOCAL:
            total += heap.size
            free += max(0, budget.heapBudget[heap_index] - budget.heapUsage[heap_index])
    return VulkanDevice(
        index=index,
        name=device.deviceName.decode("utf-8", "replace"),
        kind=kind,
        driver=f"{driver_name} ({driver_info})" if driver_info else driver_name,
        memory_bytes=total,
        free_bytes=free if has_budget else None,
    )


def _device_extensions(loader: ctypes.CDLL, handle: ctypes.c_void_p) -> set[str]:
    enumerate_extensions = _function(
        loader,
        "vkEnumerateDeviceExtensionProperties",
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_void_p,
        ctypes.c_void_p,
    )
    count = ctypes.c_uint32(0)
    if enumerate_extensions(handle, None, ctypes.byref(count), None) != 0:
        return set()
    extensions = (_ExtensionProperties * count.value)()
    if enumerate_extensions(handle, None, ctypes.byref(count), extensions) not in (0, 5):
        return set()
    return {extension.extensionName.decode("ascii", "replace") for extension in extensions}


def main(argv: list[str]) -> int:
    """--gpu-present: exit 0 when a Vulkan GPU (not a CPU device) is here, 1 otherwise;
    without arguments: the devices as JSON."""
    devices = vulkan_devices()
    if argv == ["--gpu-present"]:
        return 0 if any(device.is_gpu for device in devices) else 1
    print(json.dumps([asdict(device) for device in devices], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
