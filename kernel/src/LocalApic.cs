using System.Runtime;
using System.Runtime.CompilerServices;
using SharpMM.Virtual;

namespace SharpMM.Kernel;

/// <summary>
/// The local APIC (xAPIC: 4 KiB of registers at the MADT's address, 0xFEE00000 on PCs; QEMU's
/// TCG has no x2APIC). Every CPU sees its own APIC at the same physical address, so one uncached
/// mapping (MapDevice) serves all. Registers are 32 bits at 16-byte strides:
/// <code>
///   0x020 ID (bits 31:24)   0x080 TPR   0x0B0 EOI   0x0F0 spurious vector (bit 8: enable)
///   0x300 ICR low: vector, delivery mode (8-10), delivery status (12), level assert (14)
///   0x310 ICR high: destination APIC ID (31:24)
///   0x320 LVT timer: vector, masked (16), periodic (17)
///   0x380 initial count   0x390 current count   0x3E0 divide configuration
/// </code>
/// The timer counts the bus clock divided by 16; <see cref="CalibrateTimer"/> measures its rate
/// against the TSC (itself measured against the PIT, <see cref="Tsc"/>).
/// </summary>
internal static unsafe class LocalApic
{
    private const uint RegId = 0x020, RegTpr = 0x080, RegEoi = 0x0B0, RegSpurious = 0x0F0;
    private const uint RegIcrLow = 0x300, RegIcrHigh = 0x310, RegLvtTimer = 0x320;
    private const uint RegTimerInitial = 0x380, RegTimerCurrent = 0x390, RegTimerDivide = 0x3E0;
    private const uint SoftwareEnable = 1u << 8, DeliveryPending = 1u << 12, LevelAssert = 1u << 14;
    private const uint ModeInit = 5u << 8, ModeStartup = 6u << 8, TimerMasked = 1u << 16, TimerPeriodic = 1u << 17;
    private const uint DivideBy16 = 0x3;

    private static ulong s_base;

    /// <summary>The registers' physical address.</summary>
    public static ulong Phys { get; private set; }
    /// <summary>Where the registers are mapped (0 before <see cref="Map"/>).</summary>
    public static ulong Virt => s_base;
    /// <summary>Timer counts per millisecond at divide-by-16 (0 before <see cref="CalibrateTimer"/>).</summary>
    public static uint TimerTicksPerMs { get; private set; }

    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_mmio_read32")] private static extern uint MmioRead(ulong va);
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_mmio_write32")] private static extern void MmioWrite(ulong va, uint value);

    /// <summary>Maps the registers at <paramref name="phys"/> uncached in the device window.
    /// Return: MapDevice's status (Ok, Misaligned, OutOfMemory...).</summary>
    public static Status Map(ulong phys)
    {
        KernelFrames frames = default;
        Status s = VmallocLargeMapper.Vm.MapDevice(phys, 4096, CacheMode.Uncached, ref frames, ref KernelAddressSpace.Hooks, out ulong va);
        if (s != Status.Ok) return s;
        Phys = phys;
        s_base = va;
        return Status.Ok;
    }

    public static uint Read(uint reg) => MmioRead(s_base + reg);
    public static void Write(uint reg, uint value) => MmioWrite(s_base + reg, value);

    /// <summary>This CPU's APIC ID.</summary>
    public static uint Id => Read(RegId) >> 24;

    /// <summary>Accepts every interrupt priority and software-enables the APIC with the spurious
    /// vector (each CPU, once).</summary>
    public static void Enable()
    {
        Write(RegTpr, 0);
        Write(RegSpurious, SoftwareEnable | Interrupts.SpuriousVector);
    }

    /// <summary>End of interrupt: the APIC may deliver the next one of the same or lower priority.</summary>
    public static void Eoi() => Write(RegEoi, 0);

    /// <summary>Waits until the previous ICR command was accepted. False after about 100,000 polls.</summary>
    private static bool WaitIcrIdle()
    {
        for (int i = 0; i < 100_000; i++)
        {
            if ((Read(RegIcrLow) & DeliveryPending) == 0) return true;
            Arch.Pause();
        }
        return false;
    }

    private static bool Send(uint apicId, uint command)
    {
        if (!WaitIcrIdle()) return false;
        Write(RegIcrHigh, apicId << 24);
        Write(RegIcrLow, command);
        return WaitIcrIdle();
    }

    /// <summary>INIT (level assert): the target resets and waits for a start-up IPI.</summary>
    public static bool SendInit(uint apicId) => Send(apicId, ModeInit | LevelAssert);

    /// <summary>Start-up IPI: the target starts in real mode at <paramref name="page"/> * 4096.</summary>
    public static bool SendStartup(uint apicId, uint page) => Send(apicId, ModeStartup | LevelAssert | (page & 0xFF));

    /// <summary>A fixed interrupt with <paramref name="vector"/> to one CPU.</summary>
    public static bool SendFixed(uint apicId, int vector) => Send(apicId, LevelAssert | (uint)vector);

    /// <summary>Measures the timer's counts per millisecond over 10 ms of TSC time (once).</summary>
    public static void CalibrateTimer()
    {
        if (TimerTicksPerMs != 0) return;
        Write(RegTimerDivide, DivideBy16);
        Write(RegLvtTimer, TimerMasked | Interrupts.TimerVector);
        Write(RegTimerInitial, 0xFFFF_FFFF);
        Smp.SpinMicroseconds(10_000);
        uint left = Read(RegTimerCurrent);
        Write(RegTimerInitial, 0);
        uint perMs = (0xFFFF_FFFF - left) / 10;
        TimerTicksPerMs = perMs == 0 ? 1 : perMs;
    }

    /// <summary>Starts the timer on this CPU: an interrupt on <see cref="Interrupts.TimerVector"/>
    /// every <paramref name="ms"/> milliseconds (after <see cref="CalibrateTimer"/>).</summary>
    public static void StartPeriodic(uint ms)
    {
        Write(RegTimerDivide, DivideBy16);
        Write(RegLvtTimer, TimerPeriodic | Interrupts.TimerVector);
        Write(RegTimerInitial, TimerTicksPerMs * ms);
    }

    /// <summary>Stops and masks this CPU's timer.</summary>
    public static void StopTimer()
    {
        Write(RegLvtTimer, TimerMasked | Interrupts.TimerVector);
        Write(RegTimerInitial, 0);
    }
}
