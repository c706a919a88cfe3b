using System.Threading;
using SharpMM.Concurrency;

namespace SharpMM.Physical;

/// <summary>
/// Drain on demand across CPUs: a CPU whose allocation failed asks the other CPUs, one at a
/// time, for the frames in their order-0 caches (<see cref="CpuRequest.DrainPageCaches"/>). The
/// asked CPU answers from its request handler, which takes no lock (it may run while that CPU
/// holds or waits for any lock): it moves its frames into the allocator's mailbox and says so
/// here; the asking CPU returns them to the lists under the zone locks. One request runs at a
/// time across the system: a second asker waits in <see cref="Begin"/>, answering requests
/// meanwhile.
/// </summary>
internal static unsafe class PageCacheDrain
{
    // 1 while a CPU is asking (it owns s_target and the mailbox).
    private static int s_busy;
    // The allocator (BuddyAllocator*) whose caches are asked for.
    private static nint s_target;
    // Set by the asked CPU once the mailbox holds its frames.
    private static int s_answered;

    /// <summary>Becomes the one asking CPU, for <paramref name="allocator"/>.</summary>
    public static void Begin(nint allocator)
    {
        while (Interlocked.CompareExchange(ref s_busy, 1, 0) != 0) Cpu.Relax();
        Volatile.Write(ref s_target, allocator);
    }

    /// <summary>Asks <paramref name="cpu"/> for its cached frames and waits for the answer.</summary>
    public static void Ask(int cpu)
    {
        Volatile.Write(ref s_answered, 0);
        Cpu.Kick(1UL << cpu, CpuRequest.DrainPageCaches);
        while (Volatile.Read(ref s_answered) == 0) Cpu.Relax();
    }

    /// <summary>Ends the asking CPU's turn.</summary>
    public static void End()
    {
        Volatile.Write(ref s_target, 0);
        Volatile.Write(ref s_busy, 0);
    }

    /// <summary>Called by the asked CPU once the mailbox holds its frames.</summary>
    public static void Answered() => Volatile.Write(ref s_answered, 1);

    /// <summary>The request handler (runs on the asked CPU).</summary>
    public static void Answer()
    {
        nint target = Volatile.Read(ref s_target);
        if (target != 0) ((BuddyAllocator*)target)->AnswerDrainRequest();
    }
}
