namespace SharpMM.Kernel;

/// <summary>
/// Where user programs' output goes: standard output on COM2 (0x2F8), standard error on COM3
/// (0x3E8), the kernel log staying on COM1, so the host can take the three apart byte for byte
/// (QEMU's second and third -serial). Bytes are sent as they are (no "\n" to "\r\n"). The
/// in-kernel tests capture instead (<see cref="Capture"/>), to compare what a program wrote.
/// </summary>
internal static unsafe class UserOutput
{
    private const ushort Com2 = 0x2F8, Com3 = 0x3E8;
    private const byte LineStatusThrEmpty = 1 << 5;

    private static byte* s_capture;
    private static int s_captureCapacity, s_captureLength;

    /// <summary>Programs both UARTs as COM1 is (115200 8N1, polled).</summary>
    public static void Init()
    {
        InitPort(Com2);
        InitPort(Com3);
    }

    /// <summary>From now on both channels append to <paramref name="buffer"/> (null: back to
    /// the serial ports); what does not fit is dropped.</summary>
    public static void Capture(byte* buffer, int capacity)
    {
        s_capture = buffer;
        s_captureCapacity = capacity;
        s_captureLength = 0;
    }

    /// <summary>Bytes captured since <see cref="Capture"/>.</summary>
    public static int CapturedLength => s_captureLength;

    /// <summary>Sends <paramref name="count"/> bytes to standard output (fd 1) or error (fd 2).</summary>
    public static void Write(int fd, byte* bytes, int count)
    {
        if (s_capture != null)
        {
            for (int i = 0; i < count && s_captureLength < s_captureCapacity; i++) s_capture[s_captureLength++] = bytes[i];
            return;
        }
        ushort port = fd == 2 ? Com3 : Com2;
        for (int i = 0; i < count; i++) Put(port, bytes[i]);
    }

    private static void InitPort(ushort port)
    {
        Arch.OutB((ushort)(port + 1), 0x00);
        Arch.OutB((ushort)(port + 3), 0x80);
        Arch.OutB((ushort)(port + 0), 0x01);
        Arch.OutB((ushort)(port + 1), 0x00);
        Arch.OutB((ushort)(port + 3), 0x03);
        Arch.OutB((ushort)(port + 2), 0xC7);
        Arch.OutB((ushort)(port + 4), 0x03);
    }

    private static void Put(ushort port, byte b)
    {
        for (int spin = 0; spin < 100000 && (Arch.InB((ushort)(port + 5)) & LineStatusThrEmpty) == 0; spin++)
            Arch.Pause();
        Arch.OutB(port, b);
    }
}
