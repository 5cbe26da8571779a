import { maskPasswords } from '../../engine/core/mask-passwords';

describe('maskPasswords', () => {
  it('masks the password of every URL, whatever it holds, and leaves URLs without one alone', () => {
    expect(maskPasswords('mysql://scrape:s3cr:et%40x@db1:3306/dcs')).toBe('mysql://scrape:***@db1:3306/dcs');
    expect(maskPasswords('a mysql://u:p@h/x -> mariadb://v:q/w@h2/y, done')).toBe('a mysql://u:***@h/x -> mariadb://v:***@h2/y, done');
    expect(maskPasswords('{"message":"regime x: mysql://u:pw@h:1/db -> sqlite:/t.sqlite"}')).toBe('{"message":"regime x: mysql://u:***@h:1/db -> sqlite:/t.sqlite"}');
    expect(maskPasswords('mysql://root@127.0.0.1:3306/x and sqlite:/a/b.sqlite')).toBe('mysql://root@127.0.0.1:3306/x and sqlite:/a/b.sqlite');
    expect(maskPasswords("Access denied for user 'u'@'h' (using password: YES)")).toBe("Access denied for user 'u'@'h' (using password: YES)");
  });

  it('masks known passwords anywhere, except ones too short to tell from text', () => {
    expect(maskPasswords('server said: bad hunter2 here', ['hunter2'])).toBe('server said: bad *** here');
    expect(maskPasswords('a b c', ['a', undefined])).toBe('a b c');
  });
});
