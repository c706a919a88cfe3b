namespace System
{
    /// <summary>The primitive <c>char</c>. ilc lays it out itself; the field only gives
    /// members a way to name the value.</summary>
    public readonly struct Char
    {
        private readonly char m_value;

        /// <summary>The largest value.</summary>
        public const char MaxValue = '\uffff';
        /// <summary>The smallest value.</summary>
        public const char MinValue = (char)0;

        public bool Equals(char other) => m_value == other;
        public override bool Equals(object obj) => obj is char v && v == m_value;
        public int CompareTo(char other) => m_value < other ? -1 : m_value > other ? 1 : 0;
        public override int GetHashCode() => (int)m_value;
    }
}
