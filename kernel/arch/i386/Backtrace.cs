using SharpMM.Diagnostics;

namespace SharpMM.Kernel;

/// <summary>
/// The return addresses on the stack, from a frame pointer: ilc's x86 code keeps ebp frames
/// (push ebp; mov ebp, esp), so [ebp] is the caller's ebp and [ebp + 4] the return address into
/// it. Printed as one line that kernel/qemu.sh maps to function names with addr2line:
/// <code>
///   backtrace: 0xc0118d2a 0xc0104f11 0xc0101b7e
/// </code>
/// Every read goes through a fault probe, so a broken chain ends the line instead of faulting;
/// the walk stops at a frame pointer that does not grow, is misaligned or leaves the stack's
/// 256 KiB, and after <see cref="MaxFrames"/> frames.
/// </summary>
internal static unsafe class Backtrace
{
    public const int MaxFrames = 16;
    private const ulong StackSpan = 256UL << 10;

    /// <summary>Writes "backtrace: ..." (nothing when the first frame cannot be read).</summary>
    public static void Write(ref TextWriter<SerialSink> w, ulong framePointer)
    {
        ulong fp = framePointer, limit = framePointer + StackSpan;
        int frames = 0;
        while (frames < MaxFrames && fp != 0 && (fp & 3) == 0 && fp < limit)
        {
            if (!FaultProbe.Read(fp, out ulong pair)) break;
            ulong next = pair & 0xFFFFFFFF, ret = pair >> 32;
            if (ret == 0) break;
            w.Str(frames == 0 ? "backtrace: " : " ");
            w.Hex(ret, 8);
            frames++;
            if (next <= fp) break;
            fp = next;
        }
        if (frames > 0) w.Line();
    }
}
