namespace SharpMM.Kernel;

/// <summary>
/// COM1 (0x3F8), 115200 baud 8N1, polled, no interrupts. QEMU's -serial stdio shows it. Bytes
/// are sent as given: '\n' is not expanded to "\r\n", so logs compare byte-for-byte with the
/// hosted CLI's output.
/// </summary>
internal static class Serial
{
    private const ushort Com1 = 0x3F8;
    private const ushort Data = Com1 + 0;             // THR (write) / divisor low with DLAB
    private const ushort InterruptEnable = Com1 + 1;  // IER / divisor high with DLAB
    private const ushort FifoControl = Com1 + 2;
    private const ushort LineControl = Com1 + 3;
    private const ushort ModemControl = Com1 + 4;
    private const ushort LineStatus = Com1 + 5;
    private const byte LineStatusThrEmpty = 1 << 5;

    /// <summary>Programs the UART. Safe to call more than once.</summary>
    public static void Init()
    {
        Arch.OutB(InterruptEnable, 0x00);   // no UART interrupts
        Arch.OutB(LineControl, 0x80);       // DLAB on: next two writes are the divisor
        Arch.OutB(Data, 0x01);              // 115200 / 1
        Arch.OutB(InterruptEnable, 0x00);
        Arch.OutB(LineControl, 0x03);       // DLAB off, 8 data bits, no parity, 1 stop bit
        Arch.OutB(FifoControl, 0xC7);       // FIFO on, cleared, 14-byte threshold
        Arch.OutB(ModemControl, 0x03);      // DTR, RTS
    }

    /// <summary>Sends one byte, waiting (bounded) for the transmitter to be free.</summary>
    public static void Write(byte b)
    {
        // A real UART drains at ~11.5 KB/s; QEMU's is always ready. The bound keeps a missing
        // UART from hanging the kernel: the byte is then dropped.
        for (int spin = 0; spin < 100000 && (Arch.InB(LineStatus) & LineStatusThrEmpty) == 0; spin++)
            Arch.Pause();
        Arch.OutB(Data, b);
    }
}
