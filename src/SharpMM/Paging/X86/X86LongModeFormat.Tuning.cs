using System.Runtime.CompilerServices;

namespace SharpMM.Paging.X86;

// The constants the mapper's tuned single-page paths keep in its instance (IPagingFormat.Tuning.cs
// says why): the table address is a mask, and the count's common decrement is one subtraction.
public partial struct X86LongModeFormat
{
    static ulong IPagingFormat.TableAddressMask
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => LongPte.AddressMask;
    }

    static ulong IPagingFormat.CountDownFastBits
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => DownFastBits;
    }

    static ulong IPagingFormat.CountDownUnit
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => CountUnit;
    }
}
