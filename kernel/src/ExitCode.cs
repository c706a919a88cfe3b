namespace SharpMM.Kernel;

/// <summary>
/// Values written to QEMU's isa-debug-exit device (port 0xF4). QEMU exits with status
/// (value &lt;&lt; 1) | 1, so no value can produce 0, the status of a triple fault under
/// -no-reboot. The scripts read the status:
/// <code>
///   value  status  meaning
///   0x10   33      every test passed (the only success)
///   0x01    3      panic (library invariant, corelib check, kmain failure)
///   0x02    5      the kernel test suite ran and at least one test failed
///   0x03    7      unhandled CPU exception (report printed by ExceptionDispatcher)
///   0x04    9      the boot stub failed (no long mode) or kmain returned
/// </code>
/// </summary>
internal enum ExitCode : uint
{
    Success = 0x10,
    Panic = 0x01,
    TestsFailed = 0x02,
    CpuException = 0x03,
    BootFailure = 0x04,
}
