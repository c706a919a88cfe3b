namespace SharpMM.Kernel;

/// <summary>Leaves QEMU through isa-debug-exit (<c>-device isa-debug-exit,iobase=0xf4,iosize=0x04</c>).</summary>
internal static class QemuExit
{
    private const ushort Port = 0xF4;

    /// <summary>Exits with status (code &lt;&lt; 1) | 1; halts forever when no exit device is present.</summary>
    public static void Exit(ExitCode code)
    {
        Arch.OutL(Port, (uint)code);
        // Without the device (a real machine, or QEMU without -device isa-debug-exit) we get here.
        Arch.Cli();
        while (true) Arch.Hlt();
    }
}
