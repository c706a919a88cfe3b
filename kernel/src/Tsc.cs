namespace SharpMM.Kernel;

/// <summary>
/// The time-stamp counter as the kernel's clock: its rate measured once against the PIT
/// (channel 2, 10 ms one-shot, the gate through port 0x61), then nanoseconds since boot and the
/// wall-clock time read from the CMOS clock at calibration. Good to a fraction of a percent
/// under QEMU (TCG's TSC follows the host's).
/// </summary>
internal static class Tsc
{
    private const uint PitHz = 1193182;
    private const ushort PitCount = 11932; // 10 ms

    /// <summary>TSC ticks per second (0 before <see cref="Calibrate"/>).</summary>
    public static ulong Hz { get; private set; }
    private static ulong s_baseTsc;
    private static ulong s_bootUnixSeconds;

    /// <summary>Measures the TSC's rate and reads the CMOS clock. Idempotent.</summary>
    public static void Calibrate()
    {
        if (Hz != 0) return;
        byte gate = Arch.InB(0x61);
        Arch.OutB(0x61, (byte)((gate & ~0x02) | 0x01));   // speaker off, gate on
        Arch.OutB(0x43, 0xB0);                            // channel 2, lo/hi, mode 0
        Arch.OutB(0x42, (byte)(PitCount & 0xFF));
        Arch.OutB(0x42, (byte)(PitCount >> 8));
        ulong t0 = Arch.Rdtsc();
        ulong spins = 0;
        while ((Arch.InB(0x61) & 0x20) == 0 && spins < 100_000_000) spins++;
        ulong t1 = Arch.Rdtsc();
        Arch.OutB(0x61, gate);
        ulong hz = (t1 - t0) * PitHz / PitCount;
        Hz = hz == 0 ? 1_000_000_000UL : hz;
        s_baseTsc = t1;
        s_bootUnixSeconds = ReadCmos();
    }

    /// <summary>Nanoseconds between two TSC readings.</summary>
    public static ulong Nanoseconds(ulong ticks) => ticks / Hz * 1_000_000_000UL + ticks % Hz * 1_000_000_000UL / Hz;

    /// <summary>Nanoseconds since calibration (CLOCK_MONOTONIC).</summary>
    public static ulong MonotonicNs => Nanoseconds(Arch.Rdtsc() - s_baseTsc);

    /// <summary>Seconds since 1970 at calibration, from the CMOS clock (CLOCK_REALTIME's base).</summary>
    public static ulong BootUnixSeconds => s_bootUnixSeconds;

    private static byte Cmos(byte reg)
    {
        Arch.OutB(0x70, reg);
        return Arch.InB(0x71);
    }

    private static ulong ReadCmos()
    {
        for (int i = 0; i < 1000 && (Cmos(0x0A) & 0x80) != 0; i++) { } // update in progress
        bool bcd = (Cmos(0x0B) & 0x04) == 0;
        ulong sec = Field(Cmos(0x00), bcd), min = Field(Cmos(0x02), bcd), hour = Field((byte)(Cmos(0x04) & 0x7F), bcd);
        ulong day = Field(Cmos(0x07), bcd), month = Field(Cmos(0x08), bcd), year = Field(Cmos(0x09), bcd) + 2000;
        if (month < 1 || month > 12 || day < 1 || day > 31) return 0;
        // Days from 1970-01-01 to year-month-day (civil calendar, March-based year).
        ulong y = month <= 2 ? year - 1 : year;
        ulong era = y / 400, yoe = y - era * 400;
        ulong mp = month > 2 ? month - 3 : month + 9;
        ulong doy = (153 * mp + 2) / 5 + day - 1;
        ulong doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        ulong days = era * 146097 + doe - 719468;
        return days * 86400 + hour * 3600 + min * 60 + sec;
    }

    private static ulong Field(byte v, bool bcd) => bcd ? (ulong)((v & 0x0F) + (v >> 4) * 10) : v;
}
