/**
 * Geo commands: GEOADD (NX, XX, CH, every error), GEODIST with units, GEOHASH, GEOPOS
 * (coordinates as Redis formats the decoded cell centre), GEOSEARCH / GEOSEARCHSTORE
 * (FROMMEMBER, FROMLONLAT, BYRADIUS, BYBOX, ASC/DESC, COUNT [ANY], WITH* in every
 * combination, STOREDIST), GEORADIUS / GEORADIUSBYMEMBER and the _RO variants (STORE,
 * STOREDIST), what Redis's tests/unit/geo.tcl checks, the edges of the coordinate ranges
 * (longitude ±180, latitude ±85.05112878, the poles, the antimeridian), error texts with
 * their "%f" numbers, WRONGTYPE, missing keys and members, RESP3 shapes, and seeded random
 * sequences over random coordinates (ties at equal distances included, so the partial sort
 * of COUNT is compared too).
 *
 * Every reply is compared exactly: a search's order is Redis's (cell order, then zset
 * order, then its sorts). Multi-key steps name keys with one hash tag ({g}) so that in a
 * cluster they share a replica set and run whole at one node.
 */
import { cmd, note, script, varying, type Script, type StepInput } from '../script';
import { HELLO_VARY } from './connection';
import { prng } from '../../support/prng';

const SRC = '{g}src';
const DST = '{g}dst';
const NYC = '{g}nyc';
const SIC = '{g}sicily';
const STR = '{g}str';
const NOKEY = '{g}nokey';

const SICILY = ['13.361389', '38.115556', 'Palermo', '15.087269', '37.502669', 'Catania'];

/** Every geo command with the least arguments that reach its type check. */
function onKey(k: string): StepInput[] {
  return [
    ['GEOADD', k, '1', '1', 'a'],
    ['GEODIST', k, 'a', 'b'],
    ['GEOHASH', k, 'a'],
    ['GEOPOS', k, 'a', 'b'],
    ['GEOSEARCH', k, 'FROMLONLAT', '0', '0', 'BYRADIUS', '1', 'km'],
    ['GEOSEARCH', k, 'FROMMEMBER', 'a', 'BYBOX', '1', '1', 'km'],
    ['GEOSEARCHSTORE', DST, k, 'FROMLONLAT', '0', '0', 'BYRADIUS', '1', 'km'],
    ['GEOSEARCHSTORE', DST, k, 'FROMMEMBER', 'a', 'BYBOX', '1', '1', 'm', 'STOREDIST'],
    ['GEORADIUS', k, '1', '1', '1', 'km'],
    ['GEORADIUS', k, '1', '1', '1', 'km', 'STORE', DST],
    ['GEORADIUSBYMEMBER', k, 'a', '1', 'km'],
    ['GEORADIUSBYMEMBER', k, 'a', '1', 'km', 'STOREDIST', DST],
    ['GEORADIUS_RO', k, '1', '1', '1', 'km'],
    ['GEORADIUSBYMEMBER_RO', k, 'a', '1', 'km'],
  ];
}

export const geoScripts: Script[] = [
  script('geo: GEOADD, options and errors', [
    ['GEOADD', NYC, '-73.9454966', '40.747533', 'lic market'],
    ['GEOADD', NYC, '-73.9454966', '40.747533', 'lic market'],
    ['GEOADD', NYC, 'CH', '40.747533', '-73.9454966', 'lic market'],
    ['GEOPOS', NYC, 'lic market'],
    ['GEOADD', NYC, 'NX', '-73.9454966', '40.747533', 'lic market'],
    ['GEOADD', NYC, 'XX', '-83.9454966', '40.747533', 'lic market'],
    ['GEOPOS', NYC, 'lic market'],
    ['GEOADD', NYC, 'CH', 'NX', '-73.9454966', '40.747533', 'lic market'],
    ['GEOADD', NYC, 'CH', 'XX', '-73.9454966', '40.747533', 'lic market'],
    ['GEOADD', NYC, 'ch', 'xx', '-73.9454966', '40.747533', 'lic market', '1', '1', 'new'],
    ['GEOADD', NYC, 'xx', 'nx', '-73.9454966', '40.747533', 'lic market'],
    ['GEOADD', NYC, 'ch', 'xx', 'foo', '-73.9454966', '40.747533', 'lic market'],
    ['GEOADD', NYC, '-73.9454966', '40.747533', 'lic market', 'foo', 'bar', 'luck market'],
    ['GEOADD', NYC, '-73.9454966', '40.747533', 'lic market', '1', 'bar', 'luck market'],
    ['GEOADD', NYC, '-73.9454966', '40.747533'],
    ['GEOADD', NYC, '-73.9454966', '40.747533', 'a', '1'],
    ['GEOADD', NYC, 'CH', 'CH', 'CH'],
    ['GEOADD', NYC, 'NX', 'XX', 'CH'],
    ['GEOADD', NYC, 'GT', '1', '1', 'a'],
    ['GEOADD', NYC],
    ['GEOADD', NYC, '1', '1'],
    ['GEOADD', NYC, '-73.9733487', '40.7648057', 'central park n/q/r', '-73.9903085', '40.7362513', 'union square', '-74.0131604', '40.7126674', 'wtc one', '-73.7858139', '40.6428986', 'jfk', '-73.9375699', '40.7498929', 'q4', '-73.9564142', '40.7480973', '4545'],
    ['ZRANGE', NYC, '0', '-1', 'WITHSCORES'],
    ['ZCARD', NYC],
    note('the same member twice: the last position wins', cmd('GEOADD', NYC, '1', '1', 'dup', '2', '2', 'dup')),
    ['GEOPOS', NYC, 'dup'],
    ['GEOADD', NYC, 'CH', '2', '2', 'dup', '3', '3', 'dup', '3', '3', 'dup'],
    ['GEOADD', NYC, 'NX', '5', '5', 'dup2', '6', '6', 'dup2'],
    ['GEOPOS', NYC, 'dup2'],
    ['GEOADD', NOKEY, 'XX', '1', '1', 'a'],
    ['EXISTS', NOKEY],
    ['GEOADD', NYC, '200', '100', 'a'],
    ['GEOADD', NYC, '180.000001', '0', 'a'],
    ['GEOADD', NYC, '0', '85.05112879', 'a'],
    ['GEOADD', NYC, '0', '-85.05112879', 'a'],
    ['GEOADD', NYC, '-0', '90', 'a'],
    ['GEOADD', NYC, 'inf', '0', 'a'],
    ['GEOADD', NYC, '-inf', '0', 'a'],
    ['GEOADD', NYC, '0', 'nan', 'a'],
    ['GEOADD', NYC, '1e300', '0', 'a'],
    ['GEOADD', NYC, '-1e-300', '1e30', 'a'],
    ['GEOADD', NYC, '0.0078125', '100', 'a'],
    ['GEOADD', NYC, '-0.0000005', '-1000.0000005', 'a'],
    ['GEOADD', NYC, '0x10', '1', 'hex'],
    ['GEOADD', NYC, ' 1', '1', 'a'],
    ['GEOADD', NYC, '1', '', 'a'],
    ['GEOPOS', NYC, 'hex'],
  ]),

  script('geo: coordinate edges, GEOPOS and GEOHASH', [
    ['GEOADD', SRC, '180', '0', 'e1', '-180', '0', 'e2', '0', '85.05112878', 'e3', '0', '-85.05112878', 'e4'],
    ['GEOADD', SRC, '180', '85.05112878', 'c1', '-180', '-85.05112878', 'c2', '180', '-85.05112878', 'c3', '-180', '85.05112878', 'c4'],
    ['GEOADD', SRC, '0', '0', 'origin', '-0', '-0', 'negzero', '1e-300', '-1e-300', 'tiny'],
    ['ZRANGE', SRC, '0', '-1', 'WITHSCORES'],
    ['GEOPOS', SRC, 'e1', 'e2', 'e3', 'e4', 'c1', 'c2', 'c3', 'c4', 'origin', 'negzero', 'tiny', 'nope'],
    ['GEOHASH', SRC, 'e1', 'e2', 'e3', 'e4', 'c1', 'c2', 'c3', 'c4', 'origin', 'negzero', 'tiny', 'nope'],
    ['GEODIST', SRC, 'e1', 'e2'],
    ['GEODIST', SRC, 'e3', 'e4', 'km'],
    ['GEODIST', SRC, 'c1', 'c2', 'mi'],
    ['GEODIST', SRC, 'origin', 'negzero', 'ft'],
    ['GEOSEARCH', SRC, 'FROMMEMBER', 'e1', 'BYRADIUS', '100', 'km', 'WITHCOORD', 'WITHDIST', 'WITHHASH'],
    ['GEOSEARCH', SRC, 'FROMMEMBER', 'c1', 'BYBOX', '10000', '10000', 'km', 'ASC', 'WITHDIST'],
    ['GEOSEARCH', SRC, 'FROMLONLAT', '0', '0', 'BYRADIUS', '20000', 'km', 'DESC', 'WITHDIST'],
    ['GEOSEARCH', SRC, 'FROMLONLAT', '0', '0', 'BYRADIUS', '0', 'm', 'WITHDIST'],
    ['GEOSEARCH', SRC, 'FROMLONLAT', '0', '0', 'BYBOX', '0', '0', 'm', 'WITHDIST'],
    note('Wikipedia example', cmd('GEOADD', '{g}points', '-5.6', '42.6', 'test')),
    ['GEOHASH', '{g}points', 'test'],
    ['GEOHASH', '{g}points'],
    ['GEOPOS', '{g}points'],
    ['GEOADD', '{g}points', '10', '20', 'a', '30', '40', 'b'],
    ['GEOPOS', '{g}points', 'a', 'x', 'b'],
    ['GEOHASH', '{g}points', 'a', 'x', 'b'],
    note('a plain zset member: its score decodes as any other', cmd('ZADD', '{g}points', '0', 'zero', '1', 'one', '-5', 'neg', '1e300', 'big', '4503599627370495', 'max52', '9007199254740993', 'over53')),
    ['GEOPOS', '{g}points', 'zero', 'one', 'neg', 'big', 'max52', 'over53'],
    ['GEOHASH', '{g}points', 'zero', 'one', 'neg', 'big', 'max52', 'over53'],
    ['GEODIST', '{g}points', 'zero', 'max52'],
    note('WITHHASH of scores that are not geohashes: (long long) of the double', cmd('ZADD', '{g}odd', '1300.75', 'frac', '-2.5', 'neg', '1e300', 'huge', '-inf', 'minf')),
    ['GEOSEARCH', '{g}odd', 'FROMMEMBER', 'frac', 'BYRADIUS', '20000', 'km', 'WITHHASH', 'WITHCOORD'],
    ['GEOSEARCH', '{g}odd', 'FROMMEMBER', 'huge', 'BYRADIUS', '1', 'km', 'WITHHASH', 'WITHDIST'],
  ]),

  script('geo: GEODIST', [
    ['GEOADD', SIC, ...SICILY],
    ['GEODIST', SIC, 'Palermo', 'Catania'],
    ['GEODIST', SIC, 'Palermo', 'Catania', 'km'],
    ['GEODIST', SIC, 'Palermo', 'Catania', 'KM'],
    ['GEODIST', SIC, 'Palermo', 'Catania', 'mi'],
    ['GEODIST', SIC, 'Palermo', 'Catania', 'Ft'],
    ['GEODIST', SIC, 'Palermo', 'Catania', 'M'],
    ['GEODIST', SIC, 'Palermo', 'Palermo'],
    ['GEODIST', SIC, 'Palermo', 'Agrigento'],
    ['GEODIST', SIC, 'Ragusa', 'Agrigento'],
    ['GEODIST', NOKEY, 'Palermo', 'Catania'],
    ['GEODIST', SIC, 'Palermo', 'Catania', 'furlong'],
    ['GEODIST', NOKEY, 'Palermo', 'Catania', 'furlong'],
    ['GEODIST', SIC, 'Palermo', 'Catania', 'km', 'extra'],
    ['GEODIST', SIC, 'Palermo', 'Catania', Buffer.from('km\0x')],
    ['GEODIST', SIC, 'Palermo'],
    ['SET', STR, 'x'],
    ['GEODIST', STR, 'a', 'b', 'furlong'],
    ['GEODIST', STR, 'a', 'b', 'km', 'x'],
    note('same longitude, distance along the meridian', cmd('GEOADD', SIC, '15', '10', 'm1', '15', '-20', 'm2', '15.000001', '10', 'm3')),
    ['GEODIST', SIC, 'm1', 'm2'],
    ['GEODIST', SIC, 'm1', 'm3'],
    ['GEOADD', SIC, '-122.407107', '37.794300', '1', '-122.227336', '37.794300', '2'],
    ['GEODIST', SIC, '1', '2', 'mi'],
  ]),

  script('geo: GEORADIUS and GEOSEARCH (Redis geo.tcl)', [
    ['GEOADD', NYC, '-73.9454966', '40.747533', 'lic market', '-73.9733487', '40.7648057', 'central park n/q/r', '-73.9903085', '40.7362513', 'union square', '-74.0131604', '40.7126674', 'wtc one', '-73.7858139', '40.6428986', 'jfk', '-73.9375699', '40.7498929', 'q4', '-73.9564142', '40.7480973', '4545'],
    ['GEORADIUS', NYC, '-73.9798091', '40.7598464', '3', 'km', 'asc'],
    ['GEOSEARCH', NYC, 'fromlonlat', '-73.9798091', '40.7598464', 'bybox', '6', '6', 'km', 'asc'],
    ['GEOSEARCH', NYC, 'fromlonlat', '-73.9798091', '40.7598464', 'frommember', 'xxx', 'bybox', '6', '6', 'km', 'asc'],
    ['GEOSEARCH', NYC, 'frommember', 'xxx', 'fromlonlat', '-73.9798091', '40.7598464', 'bybox', '6', '6', 'km', 'asc'],
    ['GEOSEARCH', NYC, 'bybox', '3', '3', 'km', 'asc', 'desc', 'withhash', 'withdist', 'withcoord'],
    ['GEOSEARCH', NYC, 'fromlonlat', '-73.9798091', '40.7598464', 'byradius', '3', 'km', 'bybox', '3', '3', 'km', 'asc'],
    ['GEOSEARCH', NYC, 'fromlonlat', '-73.9798091', '40.7598464', 'bybox', '3', '3', 'km', 'byradius', '3', 'km'],
    ['geosearch', NYC, 'fromlonlat', '-73.9798091', '40.7598464', 'asc', 'desc', 'withhash', 'withdist', 'withcoord'],
    ['GEOSEARCH', NYC, 'fromlonlat', '-73.9798091', '40.7598464', 'bybox', '6', '6', 'km', 'asc', 'storedist'],
    ['GEORADIUS', NYC, '-73.9798091', '40.7598464', '3', 'km', 'withdist', 'asc'],
    ['GEOSEARCH', NYC, 'fromlonlat', '-73.9798091', '40.7598464', 'bybox', '6', '6', 'km', 'withdist', 'asc'],
    ['GEORADIUS', NYC, '-73.9798091', '40.7598464', '10', 'km', 'COUNT', '3'],
    ['GEORADIUS', NYC, '-73.9798091', '40.7598464', '10', 'km', 'COUNT', '3', 'ANY'],
    ['GEORADIUS', NYC, '-73.9798091', '40.7598464', '10', 'km', 'COUNT', '3', 'ANY', 'ASC'],
    ['GEORADIUS', NYC, '-73.9798091', '40.7598464', '10', 'km', 'ANY', 'ASC'],
    ['GEORADIUS', NYC, '-73.9798091', '40.7598464', '10', 'km', 'COUNT'],
    ['GEORADIUS', NYC, '-73.9798091', '40.7598464', '10', 'km', 'COUNT', '2', 'DESC'],
    ['GEORADIUS', NYC, '-73.9798091', '40.7598464', '10', 'km', 'COUNT', '0'],
    ['GEORADIUS', NYC, '-73.9798091', '40.7598464', '10', 'km', 'COUNT', '-1'],
    ['GEORADIUS', NYC, '-73.9798091', '40.7598464', '10', 'km', 'COUNT', 'x'],
    ['GEORADIUS', NYC, '-73.9798091', '40.7598464', '10', 'km', 'COUNT', '99999999999999999999'],
    ['GEORADIUS', NYC, '-73.9798091', '40.7598464', '10', 'km', 'COUNT', '9223372036854775807', 'WITHDIST'],
    ['GEORADIUS', NYC, '-73.9798091', '40.7598464', '10', 'km', 'COUNT', '1', 'COUNT', '5'],
    ['GEORADIUS', NYC, '-73.9798091', '40.7598464', '10', 'km', 'DESC', 'ASC', 'WITHHASH'],
    ['GEORADIUS', NYC, '-73.9798091', '40.7598464', '10', 'km', 'FROMMEMBER', 'jfk'],
    ['GEORADIUS', NYC, '-73.9798091', '40.7598464', '10', 'km', 'BYRADIUS', '1', 'km'],
    ['GEORADIUS', NYC, '-73.9798091', '40.7598464', '10', 'km', 'BOGUS'],
    ['GEOADD', '{g}users', '-47.271613776683807', '-54.534504198047678', 'user_000000'],
    ['GEORADIUS', '{g}users', '0', '0', '50000', 'km', 'WITHCOORD'],
    ['GEORADIUSBYMEMBER', NYC, 'wtc one', '7', 'km'],
    ['GEORADIUSBYMEMBER', NYC, 'wtc one', '7', 'km', 'withdist'],
    ['GEORADIUSBYMEMBER', NYC, 'nope', '7', 'km'],
    ['GEORADIUSBYMEMBER', NYC, 'nope', '-7', 'km'],
    ['GEORADIUSBYMEMBER', NYC, 'wtc one', '-7', 'km'],
    ['GEORADIUSBYMEMBER', NYC, 'wtc one', 'x', 'km'],
    ['GEORADIUSBYMEMBER', NYC, 'wtc one', '7', 'yd'],
    ['GEOSEARCH', NYC, 'frommember', 'wtc one', 'bybox', '14', '14', 'km'],
    ['GEOSEARCH', NYC, 'frommember', 'wtc one', 'bybox', '14', '14', 'km', 'withcoord', 'withhash'],
    ['GEOSEARCH', NYC, 'frommember', 'wtc one', 'byradius', '14', 'km', 'count', '3', 'any', 'desc', 'withdist'],
    ['DEL', '{g}k1'],
    ['GEOADD', '{g}k1', '-0.15307903289794921875', '85', 'n1', '0.3515625', '85.00019260486917005437', 'n2'],
    ['GEORADIUSBYMEMBER', '{g}k1', 'n1', '4891.94', 'm'],
    ['ZREM', '{g}k1', 'n1', 'n2'],
    ['GEOADD', '{g}k1', '-4.95211958885192871094', '85', 'n3', '11.25', '85.0511', 'n4'],
    ['GEORADIUSBYMEMBER', '{g}k1', 'n3', '156544', 'm'],
    ['ZREM', '{g}k1', 'n3', 'n4'],
    ['GEOADD', '{g}k1', '-45', '65.50900022111811438208', 'n5', '90', '85.0511', 'n6'],
    ['GEORADIUSBYMEMBER', '{g}k1', 'n5', '5009431', 'm'],
    ['DEL', '{g}k1'],
    ['GEOADD', '{g}k1', '45', '65', 'n1', '-135', '85.05', 'n2'],
    ['GEORADIUSBYMEMBER', '{g}k1', 'n1', '5009431', 'm', 'WITHDIST'],
    ['GEOADD', SIC, '13.361389', '38.115556', 'Palermo', '15.087269', '37.502669', 'Catania', '12.758489', '38.788135', 'edge1', '17.241510', '38.788135', 'eage2'],
    ['GEORADIUS', SIC, '15', '37', '200', 'km', 'asc'],
    ['GEOSEARCH', SIC, 'fromlonlat', '15', '37', 'bybox', '400', '400', 'km', 'asc'],
    ['DEL', SIC],
    ['GEOADD', SIC, '12.75', '36.995', 'test1'],
    ['GEOADD', SIC, '12.75', '36.50', 'test2'],
    ['GEOADD', SIC, '13.00', '36.50', 'test3'],
    ['GEOSEARCH', SIC, 'fromlonlat', '15', '37', 'bybox', '400', '2', 'km'],
    ['GEOADD', SIC, '-1', '37.00', 'test3'],
    ['GEOSEARCH', SIC, 'fromlonlat', '15', '37', 'bybox', '3000', '2', 'km', 'asc'],
    ['DEL', SIC],
    ['GEOADD', SIC, '12.758489', '38.788135', 'edge1', '17.241510', '38.788135', 'edge2', '17.250000', '35.202000', 'edge3', '12.750000', '35.202000', 'edge4', '12.748489955781654', '37', 'edge5', '15', '38.798135872540925', 'edge6', '17.251510044218346', '37', 'edge7', '15', '35.201864127459075', 'edge8', '12.692799634687903', '38.798135872540925', 'corner1', '12.692799634687903', '38.798135872540925', 'corner2', '17.200560937451133', '35.201864127459075', 'corner3', '12.799439062548865', '35.201864127459075', 'corner4'],
    ['GEOSEARCH', SIC, 'fromlonlat', '15', '37', 'bybox', '400', '400', 'km', 'asc'],
    ['GEOSEARCH', SIC, 'fromlonlat', '15', '37', 'bybox', '400', '400', 'km', 'desc', 'withdist', 'withcoord', 'withhash'],
    ['DEL', '{g}points'],
    ['GEOADD', '{g}points', '179.5', '36', 'point1'],
    ['GEOADD', '{g}points', '-179.5', '36', 'point2'],
    ['GEOSEARCH', '{g}points', 'fromlonlat', '179', '37', 'bybox', '400', '400', 'km', 'asc'],
    ['GEOSEARCH', '{g}points', 'fromlonlat', '-179', '37', 'bybox', '400', '400', 'km', 'asc'],
    ['DEL', '{g}points'],
    ['GEOADD', '{g}points', '-122.407107', '37.794300', '1'],
    ['GEOADD', '{g}points', '-122.227336', '37.794300', '2'],
    ['GEORADIUS', '{g}points', '-122.407107', '37.794300', '30', 'mi', 'ASC', 'WITHDIST'],
  ]),

  script('geo: searches, errors and argument order', [
    ['GEOADD', SRC, ...SICILY],
    ['GEOSEARCH', SRC, 'FROMLONLAT', '200', '0', 'BYRADIUS', '1', 'km'],
    ['GEOSEARCH', SRC, 'FROMLONLAT', 'x', '0', 'BYRADIUS', '1', 'km'],
    ['GEOSEARCH', SRC, 'FROMLONLAT', '0', 'y', 'BYRADIUS', '1', 'km'],
    ['GEOSEARCH', SRC, 'FROMLONLAT', '0', '0', 'BYRADIUS', 'r', 'km'],
    ['GEOSEARCH', SRC, 'FROMLONLAT', '0', '0', 'BYRADIUS', '-1', 'km'],
    ['GEOSEARCH', SRC, 'FROMLONLAT', '0', '0', 'BYRADIUS', '1', 'parsec'],
    ['GEOSEARCH', SRC, 'FROMLONLAT', '0', '0', 'BYBOX', 'w', 'h', 'km'],
    ['GEOSEARCH', SRC, 'FROMLONLAT', '0', '0', 'BYBOX', '1', 'h', 'km'],
    ['GEOSEARCH', SRC, 'FROMLONLAT', '0', '0', 'BYBOX', '-1', '1', 'km'],
    ['GEOSEARCH', SRC, 'FROMLONLAT', '0', '0', 'BYBOX', '1', '-1', 'parsec'],
    ['GEOSEARCH', SRC, 'FROMLONLAT', '0', '0', 'BYBOX', '1', '1', 'parsec'],
    ['GEOSEARCH', SRC, 'FROMLONLAT', '0', '0', 'BYBOX', '1', '1'],
    ['GEOSEARCH', SRC, 'FROMLONLAT', '0', 'BYRADIUS', '1', 'km'],
    ['GEOSEARCH', SRC, 'FROMMEMBER', 'Palermo', 'BYRADIUS', '1'],
    ['GEOSEARCH', SRC, 'FROMMEMBER', 'Palermo', 'BYRADIUS', '100', 'km', 'FROMMEMBER', 'Catania'],
    ['GEOSEARCH', SRC, 'FROMLONLAT', '15', '37', 'FROMLONLAT', '13', '38', 'BYRADIUS', '100', 'km', 'WITHDIST'],
    ['GEOSEARCH', SRC, 'FROMLONLAT', '15', '37', 'BYRADIUS', '1', 'km', 'BYRADIUS', '200', 'km', 'WITHDIST'],
    ['GEOSEARCH', SRC, 'FROMLONLAT', '15', '37', 'BYBOX', '1', '1', 'km', 'BYBOX', '400', '400', 'km', 'WITHDIST'],
    ['GEOSEARCH', SRC, 'FROMMEMBER', 'nope', 'BYRADIUS', '1', 'km'],
    ['GEOSEARCH', SRC, 'FROMMEMBER', 'nope', 'BYRADIUS', '-1', 'km'],
    ['GEOSEARCH', SRC, 'FROMMEMBER', 'Palermo', 'BYRADIUS', '200', 'km', 'COUNT', '0'],
    ['GEOSEARCH', SRC, 'FROMMEMBER', 'Palermo', 'BYRADIUS', '200', 'km', 'ANY'],
    ['GEOSEARCH', SRC, 'FROMMEMBER', 'Palermo', 'BYRADIUS', '200', 'km', 'ANY', 'COUNT', '1'],
    ['GEOSEARCH', SRC, 'FROMMEMBER', 'Palermo', 'BYRADIUS', '200', 'km', 'STORE', DST],
    ['GEOSEARCH', SRC, 'FROMMEMBER', 'Palermo', 'BYRADIUS', '200', 'km', 'WITHDIST', 'WITHDIST'],
    ['GEOSEARCH', SRC, 'FROMMEMBER', 'Palermo', 'BYRADIUS', '200', 'km', 'withcoord', 'withdist', 'withhash'],
    ['GEOSEARCH', SRC, 'FROMMEMBER', 'Palermo', 'BYRADIUS', '200', 'km', 'withhash', 'withcoord'],
    ['GEOSEARCH', SRC, 'FROMMEMBER', 'Palermo', 'BYRADIUS', '200', 'km', 'withcoord'],
    ['GEOSEARCH', SRC, 'FROMMEMBER', 'Palermo', 'BYRADIUS', '200000', 'm', 'DESC', 'WITHDIST'],
    ['GEOSEARCH', SRC, 'FROMMEMBER', 'Palermo', 'BYRADIUS', '200', 'mi', 'DESC', 'WITHDIST'],
    ['GEOSEARCH', SRC, 'FROMMEMBER', 'Palermo', 'BYRADIUS', '700000', 'ft', 'DESC', 'WITHDIST'],
    ['GEOSEARCH', SRC, 'frommember', 'Palermo', 'bybox', '400', '100', 'KM', 'desc', 'withdist'],
    ['GEOSEARCH', SRC, 'FROMMEMBER'],
    ['GEOSEARCH', SRC, 'FROMMEMBER', 'Palermo', 'BYBOX', '1', 'km', 'ASC'],
    note('the arity check comes first', cmd('GEOSEARCH', SRC, 'FROMMEMBER', 'Palermo', 'BYRADIUS', '1')),
    ['GEOSEARCH', NOKEY, 'FROMMEMBER', 'x', 'BYRADIUS', '1', 'km'],
    ['GEOSEARCH', NOKEY, 'FROMMEMBER', 'x', 'BYRADIUS', '-1', 'km'],
    ['GEOSEARCH', NOKEY, 'FROMMEMBER', 'x', 'FROMLONLAT', '1', '1', 'BYRADIUS', '1', 'km'],
    ['GEOSEARCH', NOKEY, 'FROMLONLAT', '1', '1', 'BYRADIUS', '1', 'km', 'ANY'],
    ['GEOSEARCH', NOKEY, 'FROMLONLAT', '1', '1', 'COUNT', '1'],
    ['GEORADIUS', SRC, '15', '37', '200', 'km', 'STORE'],
    ['GEORADIUS', SRC, '15', '37', '200', 'km', 'STORE', DST, 'WITHDIST'],
    ['GEORADIUS', SRC, '15', '37', '200', 'km', 'STOREDIST', DST, 'WITHHASH'],
    ['GEORADIUS', SRC, '15', '37', '200', 'km', 'WITHCOORD', 'STORE', DST],
    ['GEORADIUS', SRC, '200', '37', '-200', 'parsec'],
    ['GEORADIUS', SRC, '15', '37', '-200', 'parsec'],
    ['GEORADIUS', SRC, '15', '37', '200', 'parsec'],
    ['GEORADIUS', SRC, '15', '37', '200', 'km', 'ANY'],
    ['GEORADIUS_RO', SRC, '15', '37', '200', 'km', 'STORE', DST],
    ['GEORADIUS_RO', SRC, '15', '37', '200', 'km', 'STOREDIST', DST],
    ['GEORADIUS_RO', SRC, '15', '37', '200', 'km', 'WITHDIST', 'WITHCOORD', 'WITHHASH', 'COUNT', '1'],
    ['GEORADIUSBYMEMBER_RO', SRC, 'Palermo', '200', 'km', 'STORE', DST],
    ['GEORADIUSBYMEMBER_RO', SRC, 'Palermo', '200', 'km', 'WITHDIST', 'DESC'],
    ['GEORADIUSBYMEMBER_RO', SRC, 'nope', '200', 'km'],
    ['GEORADIUS', NOKEY, '15', '37', '200', 'km'],
    ['GEORADIUS', NOKEY, '200', '37', '200', 'km'],
    ['GEORADIUS', NOKEY, '15', '37', '200', 'km', 'BOGUS'],
    ['GEORADIUSBYMEMBER', NOKEY, 'x', '-200', 'parsec'],
    ['GEORADIUSBYMEMBER', NOKEY, 'x', '200', 'km', 'BOGUS'],
    ['GEORADIUSBYMEMBER', NOKEY, 'x', '200', 'km', 'ANY'],
    ['GEORADIUSBYMEMBER', NOKEY, 'x', '200', 'km', 'STORE', DST, 'WITHDIST'],
    ['GEOSEARCHSTORE', DST, SRC, 'FROMMEMBER', 'Palermo', 'BYRADIUS', '200', 'km', 'WITHDIST'],
    ['GEOSEARCHSTORE', DST, SRC, 'FROMMEMBER', 'Palermo', 'BYRADIUS', '200', 'km', 'STORE', DST],
    ['GEOSEARCHSTORE', DST, SRC, 'FROMMEMBER', 'Palermo', 'BYRADIUS', '200', 'km', 'STOREDIST', DST],
    ['geosearchstore', DST, SRC, 'BYRADIUS', '200', 'km', 'STOREDIST'],
    ['GEOSEARCHSTORE', DST, SRC, 'FROMMEMBER', 'Palermo', 'STOREDIST', 'ASC'],
    ['GEOSEARCHSTORE', DST, SRC, 'FROMMEMBER', 'Palermo', 'BYRADIUS', '200', 'km', 'ANY'],
    ['GEORADIUS', SRC, '15', '37', '200', 'km', 'WITHCOORD', 'WITHDIST', 'WITHHASH', 'ASC', 'COUNT', '1', 'ANY'],
    ['GEOADD', SRC, '15', '37', 'center', '15.001', '37', 'near'],
    note('the default order: cell after cell, zset order in each', cmd('GEOSEARCH', SRC, 'FROMLONLAT', '15', '37', 'BYRADIUS', '400', 'km')),
    ['GEOSEARCH', SRC, 'FROMLONLAT', '15', '37', 'BYRADIUS', '400', 'km', 'COUNT', '2'],
    ['GEOSEARCH', SRC, 'FROMLONLAT', '15', '37', 'BYRADIUS', '400', 'km', 'COUNT', '2', 'ANY'],
    ['GEOSEARCH', SRC, 'FROMLONLAT', '15', '37', 'BYRADIUS', '400', 'km', 'COUNT', '10', 'DESC'],
    ['GEOSEARCH', SRC, 'FROMLONLAT', '15', '37', 'BYRADIUS', '0.01', 'km', 'WITHDIST'],
    ['GEOSEARCH', SRC, 'FROMLONLAT', '15', '37', 'BYBOX', '0.2', '0.2', 'km', 'WITHDIST'],
    ['GEOSEARCH', SRC, 'FROMLONLAT', '15', '37', 'BYRADIUS', 'inf', 'km', 'WITHDIST'],
    ['GEOSEARCH', SRC, 'FROMLONLAT', '15', '37', 'BYBOX', 'inf', '1', 'km', 'WITHDIST'],
    ['GEOSEARCH', SRC, 'FROMLONLAT', '15', '37', 'BYRADIUS', '1e-300', 'm', 'WITHDIST'],
  ]),

  script('geo: STORE, STOREDIST and GEOSEARCHSTORE', [
    ['GEOADD', SRC, ...SICILY, '12.758489', '38.788135', 'edge1', '17.241510', '38.788135', 'edge2'],
    ['GEORADIUS', SRC, '13.361389', '38.115556', '500', 'km', 'STORE', DST],
    ['ZRANGE', DST, '0', '-1', 'WITHSCORES'],
    ['TYPE', DST],
    ['GEORADIUS', SRC, '13.361389', '38.115556', '500', 'km', 'STOREDIST', DST],
    ['ZRANGE', DST, '0', '-1', 'WITHSCORES'],
    ['GEORADIUS', SRC, '13.361389', '38.115556', '500', 'km', 'STORE', DST, 'STOREDIST', '{g}dst2'],
    ['EXISTS', '{g}dst2'],
    ['ZRANGE', '{g}dst2', '0', '-1', 'WITHSCORES'],
    ['GEORADIUS', SRC, '13.361389', '38.115556', '500', 'km', 'STOREDIST', DST, 'ASC', 'COUNT', '1'],
    ['ZRANGE', DST, '0', '-1', 'WITHSCORES'],
    ['GEORADIUS', SRC, '13.361389', '38.115556', '500', 'km', 'STOREDIST', DST, 'DESC', 'COUNT', '1'],
    ['ZRANGE', DST, '0', '-1', 'WITHSCORES'],
    ['GEORADIUSBYMEMBER', SRC, 'Palermo', '500', 'km', 'STORE', DST],
    ['ZRANGE', DST, '0', '-1'],
    ['GEORADIUSBYMEMBER', SRC, 'Catania', '500', 'mi', 'STOREDIST', DST],
    ['ZRANGE', DST, '0', '-1', 'WITHSCORES'],
    ['GEOSEARCHSTORE', DST, SRC, 'FROMLONLAT', '13.361389', '38.115556', 'BYRADIUS', '500', 'km'],
    ['ZRANGE', DST, '0', '-1', 'WITHSCORES'],
    ['GEOSEARCHSTORE', DST, SRC, 'FROMLONLAT', '13.361389', '38.115556', 'BYRADIUS', '500', 'km', 'STOREDIST'],
    ['ZRANGE', DST, '0', '-1', 'WITHSCORES'],
    ['GEOSEARCHSTORE', DST, SRC, 'FROMMEMBER', 'Catania', 'BYBOX', '300', '300', 'ft', 'STOREDIST', 'COUNT', '1', 'ANY'],
    ['ZRANGE', DST, '0', '-1', 'WITHSCORES'],
    note('a store of nothing deletes the destination', cmd('EXPIRE', DST, '100')),
    ['GEOSEARCHSTORE', DST, SRC, 'FROMLONLAT', '0', '0', 'BYRADIUS', '1', 'km'],
    ['EXISTS', DST],
    ['SET', DST, 'string'],
    ['EXPIRE', DST, '100'],
    ['GEORADIUS', SRC, '13.361389', '38.115556', '500', 'km', 'STORE', DST],
    ['TYPE', DST],
    ['TTL', DST],
    ['SET', DST, 'string'],
    ['GEORADIUS', NOKEY, '13.361389', '38.115556', '500', 'km', 'STORE', DST],
    ['EXISTS', DST],
    ['SET', DST, 'string'],
    ['GEOSEARCHSTORE', DST, NOKEY, 'FROMMEMBER', 'x', 'BYRADIUS', '1', 'km'],
    ['EXISTS', DST],
    ['GEOSEARCHSTORE', DST, NOKEY, 'FROMMEMBER', 'x', 'BYRADIUS', '1', 'km'],
    ['SET', STR, 'x'],
    ['GEOSEARCHSTORE', STR, SRC, 'FROMMEMBER', 'Palermo', 'BYRADIUS', '1', 'km'],
    ['TYPE', STR],
    ['GEOSEARCHSTORE', SRC, SRC, 'FROMMEMBER', 'Palermo', 'BYRADIUS', '200', 'km', 'STOREDIST'],
    ['ZRANGE', SRC, '0', '-1', 'WITHSCORES'],
    ['GEOPOS', SRC, 'Palermo'],
  ]),

  script('geo: WRONGTYPE, missing keys and empty sets', [
    ['SET', STR, 'x'],
    ...onKey(STR),
    note('a coordinate error comes before the type check in GEOADD', cmd('GEOADD', STR, '200', '0', 'a')),
    ['GEORADIUS', STR, '200', '0', '1', 'km'],
    ['GEOSEARCH', STR, 'FROMLONLAT', '200', '0', 'BYRADIUS', '1', 'km'],
    ['GEOSEARCH', STR, 'BOGUS'],
    ['GEOSEARCHSTORE', DST, STR, 'BOGUS', 'x', 'y', 'z'],
    ['GEODIST', STR, 'a', 'b', 'parsec'],
    ['GEOHASH', STR],
    ['GEOPOS', STR],
    ...onKey(NOKEY),
    ['GEOHASH', NOKEY],
    ['GEOPOS', NOKEY],
    ['EXISTS', NOKEY],
    ['GEOADD', SRC, '1', '1', 'a'],
    ['ZREM', SRC, 'a'],
    ['EXISTS', SRC],
    ['GEOPOS', SRC, 'a'],
    ['GEOADD', SRC, '1', '1', 'a', '2', '2', 'b'],
    ['LPUSH', SRC, 'x'],
    ['TYPE', SRC],
    ['ZCARD', SRC],
    ['ZSCORE', SRC, 'b'],
    ['ZINCRBY', SRC, '1', 'b'],
    ['GEOPOS', SRC, 'b'],
    ['GEOADD', SRC, 'XX', '3', '3', 'c'],
    ['ZCARD', SRC],
  ]),

  script('geo: binary members', [
    ['GEOADD', SRC, '1', '1', '', '1.5', '1.5', Buffer.from([0, 255, 1]), '2', '2', 'crlf\r\n', '2.5', '2.5', Buffer.from('nul\0x')],
    ['GEOPOS', SRC, '', Buffer.from([0, 255, 1]), 'crlf\r\n', Buffer.from('nul\0x'), 'nul'],
    ['GEOSEARCH', SRC, 'FROMMEMBER', Buffer.from('nul\0x'), 'BYRADIUS', '500', 'km', 'ASC', 'WITHDIST'],
    ['GEOSEARCH', SRC, Buffer.from('FROMMEMBER\0x'), '', Buffer.from('BYRADIUS\0'), '500', Buffer.from('km\0zz'), Buffer.from('WITHCOORD\0')],
    ['GEODIST', SRC, '', 'crlf\r\n'],
    ['GEOHASH', SRC, '', Buffer.from([0, 255, 1])],
    ['GEOSEARCH', SRC, 'FROMMEMBER', '', 'BYRADIUS', '500', 'km'],
    ['GEOADD', SRC, '1', Buffer.from('1\0'), 'a'],
    ['GEOSEARCH', SRC, 'FROMMEMBER', '', 'BYRADIUS', '500', Buffer.from([0x6b, 0x6d, 0xff])],
    ['GEOSEARCH', SRC, 'BYRADIUS', '500', 'km', Buffer.from('WITHDIST\r\n')],
  ]),

  script('geo: RESP3 shapes', [
    varying(HELLO_VARY, 'HELLO', '3'),
    ['GEOADD', SRC, ...SICILY],
    ['GEOPOS', SRC, 'Palermo', 'nope', 'Catania'],
    ['GEOPOS', NOKEY, 'a', 'b'],
    ['GEOHASH', SRC, 'Palermo', 'nope'],
    ['GEOHASH', NOKEY, 'a'],
    ['GEODIST', SRC, 'Palermo', 'Catania'],
    ['GEODIST', SRC, 'Palermo', 'nope'],
    ['GEODIST', NOKEY, 'Palermo', 'nope'],
    ['GEOSEARCH', SRC, 'FROMLONLAT', '15', '37', 'BYRADIUS', '200', 'km'],
    ['GEOSEARCH', SRC, 'FROMLONLAT', '15', '37', 'BYRADIUS', '200', 'km', 'WITHCOORD', 'WITHDIST', 'WITHHASH', 'ASC'],
    ['GEOSEARCH', SRC, 'FROMLONLAT', '15', '37', 'BYBOX', '400', '400', 'km', 'WITHHASH', 'DESC'],
    ['GEOSEARCH', SRC, 'FROMLONLAT', '0', '0', 'BYBOX', '1', '1', 'km', 'WITHHASH'],
    ['GEOSEARCH', NOKEY, 'FROMLONLAT', '0', '0', 'BYBOX', '1', '1', 'km', 'WITHHASH'],
    ['GEORADIUS', SRC, '15', '37', '200', 'km', 'WITHCOORD'],
    ['GEORADIUSBYMEMBER_RO', SRC, 'Palermo', '200', 'km', 'WITHDIST'],
    ['GEOSEARCHSTORE', DST, SRC, 'FROMLONLAT', '15', '37', 'BYRADIUS', '200', 'km', 'STOREDIST'],
    ['ZRANGE', DST, '0', '-1', 'WITHSCORES'],
    varying(HELLO_VARY, 'HELLO', '2'),
    ['GEOPOS', SRC, 'Palermo', 'nope'],
  ]),

  script('geo: COMMAND metadata and key extraction', [
    ['COMMAND', 'INFO', 'geoadd', 'geodist', 'geohash', 'geopos', 'geosearch', 'geosearchstore'],
    ['COMMAND', 'INFO', 'georadius', 'georadiusbymember', 'georadius_ro', 'georadiusbymember_ro'],
    ['COMMAND', 'DOCS', 'geosearch', 'georadius'],
    ['COMMAND', 'GETKEYS', 'GEOADD', 'k', '1', '1', 'm'],
    ['COMMAND', 'GETKEYS', 'GEOSEARCHSTORE', 'd', 's', 'FROMLONLAT', '1', '1', 'BYRADIUS', '1', 'km'],
    ['COMMAND', 'GETKEYSANDFLAGS', 'GEOSEARCHSTORE', 'd', 's', 'FROMLONLAT', '1', '1', 'BYRADIUS', '1', 'km'],
    ['COMMAND', 'GETKEYS', 'GEORADIUS', 's', '1', '1', '1', 'km'],
    ['COMMAND', 'GETKEYS', 'GEORADIUS', 's', '1', '1', '1', 'km', 'STORE'],
    ['COMMAND', 'GETKEYSANDFLAGS', 'GEORADIUS', 's', '1', '1', '1', 'km', 'store', 'a'],
    ['COMMAND', 'GETKEYSANDFLAGS', 'GEORADIUS', 's', '1', '1', '1', 'km', 'STOREDIST', 'b', 'STORE', 'a'],
    ['COMMAND', 'GETKEYS', 'GEORADIUS', 's', 'store', '1', '1', 'km', 'COUNT', '1', 'STORE', 'a'],
    ['COMMAND', 'GETKEYS', 'GEORADIUSBYMEMBER', 's', 'store', '1', 'km', 'STORE', 'a'],
    ['COMMAND', 'GETKEYS', 'GEORADIUS_RO', 's', '1', '1', '1', 'km', 'STORE', 'a'],
    ['COMMAND', 'GETKEYS', 'GEOSEARCH', 's', 'FROMLONLAT', '1', '1', 'BYRADIUS', '1', 'km'],
  ]),

  script('geo: equal distances under COUNT', tiedSearches()),
  script('geo: seeded random points and searches (seed 20261204)', randomSearches(20261204, 300, 150)),
  script('geo: seeded random commands (seed 20261205)', randomSteps(20261205, 400)),
];

/**
 * Searches with COUNT below the number of matches, among members at shared positions
 * (equal distances): Redis sorts those with its partial quicksort, whose order among equal
 * distances is neither the gathering order nor a stable sort's. The points are those of
 * randomSearches(1); the first search is one that told Redis 7.0's pqsort.c from the later
 * one (which switches to insertion sort when a partition swapped nothing).
 */
function tiedSearches(): StepInput[] {
  const steps = randomSearches(1, 400, 0);
  for (const count of ['1', '5', '17', '49', '144']) steps.push(['GEOSEARCH', SRC, 'FROMMEMBER', 'p223', 'BYBOX', '272299.384', '386322.765', 'm', 'COUNT', count]);
  for (const member of ['p0', 'p1', 'p2', 'p5']) {
    for (const count of ['7', '20', '49']) {
      steps.push(['GEOSEARCH', SRC, 'FROMMEMBER', member, 'BYBOX', '300', '300', 'km', 'COUNT', count]);
      steps.push(['GEORADIUSBYMEMBER', SRC, member, '150', 'km', 'DESC', 'COUNT', count]);
    }
  }
  return steps;
}

/** A coordinate text with 6 decimals, so both servers parse the same string. */
function coord(next: () => number, min: number, max: number): string {
  return (min + next() * (max - min)).toFixed(6);
}

/**
 * Many random points in one area (some at shared positions, so equal distances occur),
 * then random searches of every kind over them.
 */
function randomSearches(seed: number, points: number, searches: number): StepInput[] {
  const next = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  const steps: StepInput[] = [];
  const args: string[] = [];
  const shared: string[][] = [];
  for (let i = 0; i < 6; i++) shared.push([coord(next, 10, 14), coord(next, 40, 43)]);
  for (let i = 0; i < points; i++) {
    const [lon, lat] = next() < 0.2 ? pick(shared) : [coord(next, 9, 15), coord(next, 39, 44)];
    args.push(lon, lat, `p${i}`);
  }
  steps.push(['GEOADD', SRC, ...args]);
  for (let i = 0; i < 40; i++) {
    args.length = 0;
    args.push(coord(next, -180, 180), coord(next, -85, 85), `w${i}`);
    steps.push(['GEOADD', SRC, ...args]);
  }
  const units = ['m', 'km', 'mi', 'ft'];
  const unitScale: Record<string, number> = { m: 1000, km: 1, mi: 0.621371, ft: 3280.84 };
  for (let i = 0; i < searches; i++) {
    const unit = pick(units);
    const km = next() < 0.1 ? 500 + next() * 8000 : 5 + next() * 300;
    const size = (km * unitScale[unit]).toFixed(3);
    const from: string[] = next() < 0.5 ? ['FROMMEMBER', `p${Math.floor(next() * points)}`] : ['FROMLONLAT', coord(next, 8, 16), coord(next, 38, 45)];
    const by: string[] = next() < 0.5 ? ['BYRADIUS', size, unit] : ['BYBOX', size, (km * unitScale[unit] * (0.2 + next() * 2)).toFixed(3), unit];
    const opts: string[] = [];
    const sortPick = next();
    if (sortPick < 0.4) opts.push('ASC');
    else if (sortPick < 0.7) opts.push('DESC');
    if (next() < 0.6) {
      opts.push('COUNT', String(1 + Math.floor(next() * 60)));
      if (next() < 0.25) opts.push('ANY');
    }
    const store = next() < 0.15;
    if (!store) for (const w of ['WITHDIST', 'WITHCOORD', 'WITHHASH']) if (next() < 0.4) opts.push(w);
    const kind = next();
    if (store) {
      // A STOREDIST score is a distance at full precision, where glibc's and our sin/cos/asin
      // disagree in the last bit for about 1 distance in 400 (docs/commands.md): compare the
      // members in distance order and the distances to 4 decimals instead.
      const storedist = next() < 0.5;
      steps.push(['GEOSEARCHSTORE', DST, SRC, ...from, ...by, ...opts, ...(storedist ? ['STOREDIST'] : [])]);
      steps.push(storedist ? ['ZRANGE', DST, '0', '-1'] : ['ZRANGE', DST, '0', '-1', 'WITHSCORES']);
    } else if (kind < 0.6 || by[0] === 'BYBOX') steps.push(['GEOSEARCH', SRC, ...from, ...by, ...opts]);
    else if (from[0] === 'FROMMEMBER') steps.push([pick(['GEORADIUSBYMEMBER', 'GEORADIUSBYMEMBER_RO']), SRC, from[1], by[1], by[2], ...opts]);
    else steps.push([pick(['GEORADIUS', 'GEORADIUS_RO']), SRC, from[1], from[2], by[1], by[2], ...opts]);
  }
  return steps;
}

/** A random command sequence over two geo keys (one hash tag) and a string key. */
function randomSteps(seed: number, count: number): StepInput[] {
  const next = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  const A = '{g}a';
  const B = '{g}b';
  const keys = [A, B, A, B, STR];
  const members = ['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', '', 'x'];
  const lon = (): string => (next() < 0.05 ? pick(['180', '-180', '181', '0']) : coord(next, -20, 20));
  const lat = (): string => (next() < 0.05 ? pick(['85.05112878', '-85.05112878', '86', '0']) : coord(next, -20, 20));
  const radius = (): string[] => [String(Math.floor(next() * 3000)), pick(['km', 'mi', 'm', 'ft'])];
  const withs = (): string[] => ['WITHDIST', 'WITHCOORD', 'WITHHASH'].filter(() => next() < 0.4);
  const order = (): string[] => (next() < 0.3 ? [] : [pick(['ASC', 'DESC'])]);
  const countOpt = (): string[] => (next() < 0.5 ? [] : next() < 0.8 ? ['COUNT', String(1 + Math.floor(next() * 5))] : ['COUNT', '2', 'ANY']);
  const steps: StepInput[] = [['SET', STR, 'string']];
  // Once a STOREDIST result (a full-precision distance) may be among the scores, ZRANGE
  // leaves WITHSCORES out: see randomSearches.
  let storedist = false;
  const maybeStoredist = (): string[] => {
    if (next() < 0.5) return [];
    storedist = true;
    return ['STOREDIST'];
  };
  const actions: Array<() => StepInput> = [
    () => ['GEOADD', pick(keys), lon(), lat(), pick(members)],
    () => ['GEOADD', pick(keys), pick(['NX', 'XX', 'CH']), lon(), lat(), pick(members), lon(), lat(), pick(members)],
    () => ['GEOADD', pick(keys), 'CH', pick(['NX', 'XX']), lon(), lat(), pick(members)],
    () => ['GEODIST', pick(keys), pick(members), pick(members), ...(next() < 0.5 ? [] : [pick(['km', 'mi', 'ft', 'm'])])],
    () => ['GEOPOS', pick(keys), pick(members), pick(members), pick(members)],
    () => ['GEOHASH', pick(keys), pick(members), pick(members)],
    () => ['GEOSEARCH', pick(keys), 'FROMMEMBER', pick(members), 'BYRADIUS', ...radius(), ...order(), ...countOpt(), ...withs()],
    () => ['GEOSEARCH', pick(keys), 'FROMLONLAT', lon(), lat(), 'BYBOX', ...radius().slice(0, 1), ...radius(), ...order(), ...countOpt(), ...withs()],
    () => ['GEOSEARCHSTORE', pick(keys), pick(keys), 'FROMLONLAT', lon(), lat(), 'BYRADIUS', ...radius(), ...order(), ...countOpt(), ...maybeStoredist()],
    () => ['GEORADIUS', pick(keys), lon(), lat(), ...radius(), ...order(), ...countOpt(), ...withs()],
    () => ['GEORADIUSBYMEMBER', pick(keys), pick(members), ...radius(), ...order(), ...countOpt(), ...(next() < 0.3 ? (maybeStoredist().length > 0 ? ['STOREDIST', pick(keys)] : ['STORE', pick(keys)]) : withs())],
    () => ['ZRANGE', pick(keys), '0', '-1', ...(storedist ? [] : ['WITHSCORES'])],
    () => ['ZREM', pick(keys), pick(members)],
    () => (next() < 0.2 ? ['DEL', pick(keys)] : ['ZCARD', pick(keys)]),
  ];
  for (let i = 0; i < count; i++) steps.push(pick(actions)());
  return steps;
}
